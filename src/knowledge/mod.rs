//! Knowledge bases, the parts below the runtime: turning files into text (`extract`),
//! text into token-sized chunks (`chunk`), keeping originals (`blobs`), recording a
//! document's indexing (`store`), and searching (`query`, `rank`, `search`). The
//! indexing loop that leases documents and the embeddings client are the runtime's; the
//! rules of the API (tenancy, limits, validation) are the service's.

pub mod blobs;
pub mod chunk;
pub mod extract;
pub mod query;
pub mod rank;
pub mod search;
pub mod store;
