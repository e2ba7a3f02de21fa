//! The model providers against fake providers that are real local HTTP servers
//! speaking OpenAI's and Anthropic's streaming formats, and the offline mock provider.

mod anthropic;
mod fake;
mod mock;
mod openai;
mod resolve;
mod retries;
