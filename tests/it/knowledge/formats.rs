//! Every format a base reads, uploaded as real files (multipart) and as JSON; the bad
//! input an upload can carry (empty, binary garbage, a corrupt PDF, an unknown type,
//! too large, too many) and the bounds of a search.

use super::pdf::make_pdf;
use super::*;

#[tokio::test]
async fn every_format_is_indexed_and_found_by_its_own_words() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let files: Vec<(&str, &str, Vec<u8>)> =
        vec![
        ("notes.txt", "text/plain", b"The quartermaster keeps the zephyr logbook.".to_vec()),
        (
            "guide.md",
            "text/markdown",
            b"# Guide\n\n## Boats\n\nThe marigold sloop sails on Tuesdays.\n".to_vec(),
        ),
        (
            "page.html",
            "text/html",
            b"<html><head><style>.x{}</style><script>var hidden = 'scriptword';</script></head>\
              <body><h1>Port</h1><p>The lighthouse keeper is called Ottoline.</p></body></html>"
                .to_vec(),
        ),
        (
            "crew.csv",
            "text/csv",
            b"name,role\nBartholomew,navigator\nCressida,cook\n".to_vec(),
        ),
        (
            "ship.json",
            "application/json",
            br#"{"ship": {"name": "Halcyon", "cargo": ["saffron", "indigo"]}}"#.to_vec(),
        ),
        (
            "manual.pdf",
            "application/pdf",
            make_pdf(&["Engine manual", "Turn the periwinkle valve slowly."]),
        ),
    ];
    let res = upload_files(&api, &kb, &files, 202).await;
    let docs = res["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 6, "{res}");
    for d in docs {
        assert_eq!(d["status"], "pending", "{d}");
        let done = settled(&api, &kb, d["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "indexed", "{done}");
    }
    let formats: Vec<&str> = docs.iter().map(|d| d["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["text", "markdown", "html", "csv", "json", "pdf"]);
    for (word, file) in [
        ("zephyr", "notes.txt"),
        ("marigold", "guide.md"),
        ("Ottoline", "page.html"),
        ("Cressida", "crew.csv"),
        ("saffron", "ship.json"),
        ("periwinkle", "manual.pdf"),
    ] {
        let found = search(&api, &kb, &format!("q={word}&mode=keyword")).await;
        assert_eq!(names(&found), [file], "searching {word}: {found}");
        assert!(
            found["results"][0]["text"].as_str().unwrap().contains(word),
            "{found}"
        );
    }
    // Script content never becomes searchable text.
    assert!(names(&search(&api, &kb, "q=scriptword").await).is_empty());
}

#[tokio::test]
async fn a_file_that_cannot_be_read_fails_alone_and_the_worker_goes_on() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let mut garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    garbage[10] = 0;
    let mut corrupt = b"%PDF-1.4\n".to_vec();
    corrupt.extend((0..2000u32).map(|i| (i * 31 % 251) as u8));
    // pdf-extract panics on an unknown font encoding name (same length, so the
    // cross-reference offsets stay valid and the file still parses).
    let mut crash = make_pdf(&["hello"]);
    let at = crash
        .windows(15)
        .position(|w| w == b"WinAnsiEncoding")
        .expect("the fixture names its encoding");
    crash[at..at + 15].copy_from_slice(b"BadAnsiEncoding");
    let real = make_pdf(&["truncated on the way"]);
    let truncated = real[..real.len() / 2].to_vec();
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("blank.txt", "text/plain", b"  \n\t \n".to_vec()),
        ("garbage.txt", "text/plain", garbage),
        ("broken.pdf", "application/pdf", corrupt),
        ("scan.pdf", "application/pdf", make_pdf(&[])),
        ("crash.pdf", "application/pdf", crash),
        ("truncated.pdf", "application/pdf", truncated),
        (
            "fine.md",
            "text/markdown",
            b"# Fine\n\nStill indexed after the others.".to_vec(),
        ),
    ];
    let res = upload_files(&api, &kb, &files, 202).await;
    let mut codes = Vec::new();
    for d in res["documents"].as_array().unwrap() {
        let done = settled(&api, &kb, d["id"].as_str().unwrap()).await;
        codes.push((
            done["name"].as_str().unwrap().to_owned(),
            done["status"].as_str().unwrap().to_owned(),
            done["error"]["code"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let want = [
        ("blank.txt", "failed", "empty_document"),
        ("garbage.txt", "failed", "unsupported_content"),
        ("broken.pdf", "failed", "extraction_failed"),
        ("scan.pdf", "failed", "empty_document"),
        ("crash.pdf", "failed", "extraction_failed"),
        ("truncated.pdf", "failed", "extraction_failed"),
        ("fine.md", "indexed", ""),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(codes, want);
    // Failed documents say why, and are not retried (the file itself is the problem).
    let broken = api
        .get(&format!("/v1/knowledge/{kb}/documents?status=failed"), 200)
        .await;
    for d in broken["data"].as_array().unwrap() {
        assert_eq!(d["attempts"], 1, "{d}");
        assert!(!d["error"]["message"].as_str().unwrap().is_empty(), "{d}");
    }
    assert_eq!(names(&search(&api, &kb, "q=indexed").await), ["fine.md"]);
}

#[tokio::test]
async fn uploads_are_bounded_by_type_size_and_count() {
    let s = TestServer::start_with(|c| {
        quick(c);
        c.knowledge.max_file_bytes = 2048;
        c.knowledge.max_files = 3;
        c.knowledge.max_request_bytes = 64 * 1024;
    })
    .await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let path = format!("/v1/knowledge/{kb}/upload");
    // An unknown type: 415, nothing stored.
    let res = upload_files(
        &api,
        &kb,
        &[("tool.exe", "application/x-msdownload", vec![1, 2])],
        415,
    )
    .await;
    assert_eq!(res["code"], "unsupported_media_type", "{res}");
    let res = api
        .post(
            &path,
            json!({ "documents": [{ "name": "x.docx", "content": "hi" }] }),
            415,
        )
        .await;
    assert!(res["detail"].as_str().unwrap().contains("x.docx"), "{res}");
    // A file over the size limit, as a part and as JSON: 413.
    let big = vec![b'a'; 4096];
    let res = upload_files(&api, &kb, &[("big.txt", "text/plain", big.clone())], 413).await;
    assert_eq!(res["code"], "payload_too_large", "{res}");
    let text = String::from_utf8(big).unwrap();
    api.post(
        &path,
        json!({ "documents": [{ "name": "big.txt", "content": text }] }),
        413,
    )
    .await;
    // More files than allowed: 413.
    let four: Vec<(&str, &str, Vec<u8>)> = ["a.txt", "b.txt", "c.txt", "d.txt"]
        .iter()
        .map(|n| (*n, "text/plain", b"x".to_vec()))
        .collect();
    upload_files(&api, &kb, &four, 413).await;
    // A body past the request limit: 413 before it is all read.
    let huge = vec![b'b'; 128 * 1024];
    upload_files(&api, &kb, &[("huge.txt", "text/plain", huge)], 413).await;
    // Problems with a pointer each: no content, both contents, bad base64, duplicate names.
    let res = api
        .post(
            &path,
            json!({ "documents": [
                { "name": "a.txt" },
                { "name": "b.txt", "content": "x", "content_base64": "eA==" },
                { "name": "c.pdf", "content_base64": "%%%" }
            ] }),
            422,
        )
        .await;
    let pointers: Vec<&str> = res["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/documents/0/content",
            "/documents/1/content",
            "/documents/2/content_base64"
        ],
        "{res}"
    );
    let res = api
        .post(
            &path,
            json!({ "documents": [{ "name": "a.txt", "content": "x" }, { "name": "a.txt", "content": "y" }] }),
            422,
        )
        .await;
    assert_eq!(res["errors"][0]["pointer"], "/documents/1/name", "{res}");
    // Nothing of the refused uploads was stored.
    let docs = api.get(&format!("/v1/knowledge/{kb}/documents"), 200).await;
    assert_eq!(docs["data"], json!([]), "{docs}");
}

#[tokio::test]
async fn a_search_is_bounded_and_says_when_indexing_is_still_going() {
    // No worker: uploaded documents stay pending.
    let s = TestServer::start_with(|c| c.worker.enabled = false).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    for bad in [
        "q=",
        "q=%20%20",
        "q=x&top_k=0",
        "q=x&top_k=51",
        "q=x&mode=fuzzy",
        "q=x&top_k=many",
    ] {
        let res = api
            .get(&format!("/v1/knowledge/{kb}/search?{bad}"), 400)
            .await;
        assert_eq!(res["code"], "bad_request", "{bad}: {res}");
    }
    let long = "word ".repeat(500);
    api.get(&format!("/v1/knowledge/{kb}/search?{}", q(&long)), 400)
        .await;
    let res = search(&api, &kb, "q=anything").await;
    assert_eq!(res["indexing"], false, "{res}");
    upload(
        &api,
        &kb,
        json!([{ "name": "a.txt", "content": "waiting" }]),
    )
    .await;
    let res = search(&api, &kb, "q=waiting").await;
    assert_eq!(res["indexing"], true, "{res}");
    assert_eq!(res["results"], json!([]), "{res}");
    // Semantic search on a base without a model says how to search it instead.
    let res = api
        .get(&format!("/v1/knowledge/{kb}/search?q=x&mode=semantic"), 400)
        .await;
    assert!(
        res["detail"].as_str().unwrap().contains("embedding_model"),
        "{res}"
    );
}

#[tokio::test]
async fn search_text_is_never_query_syntax() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    upload_settled(
        &api,
        &kb,
        json!([{ "name": "a.txt", "content": "plain words about refunds" }]),
    )
    .await;
    // FTS5 and tsquery operators, quotes, column filters, SQL: all just words (or none).
    for attack in [
        "refunds\" OR 1=1 --",
        "NEAR(refunds words, 1)",
        "text:refunds",
        "refund* AND -words",
        "'; DROP TABLE knowledge_chunks; --",
        "(((((",
        "\"",
        "!!! ??? ***",
        "refunds <-> words & !plain | :*",
    ] {
        let res = search(&api, &kb, &format!("{}&mode=keyword", q(attack))).await;
        assert!(res["results"].is_array(), "{attack}: {res}");
    }
    let res = search(
        &api,
        &kb,
        &format!("{}&mode=keyword", q("\"refunds\" OR x")),
    )
    .await;
    assert_eq!(names(&res), ["a.txt"], "{res}");
    // The table is still there.
    assert_eq!(names(&search(&api, &kb, "q=refunds").await), ["a.txt"]);
}
