//! Lead ingest through the API: every CSV case a real export brings, the invariant
//! rows = accepted + rejected + duplicates, the rejects report, JSON bodies, routing and budgets.

mod support;

use app::domain::Role;
use kiln::ingest::lead::DedupeKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Api, assert_balanced, assert_status};

const MESSY: &str = "\u{feff}Email , First Name,Last Name,Company,Website,Notes\r\n\
ada@example.com,Ada,Lovelace,Engines Ltd,engines.co.uk,\"likes, commas\"\r\n\
\r\n\
BOB@Example.com ,Bob,Smith,\"Acme \"\"Rockets\"\"\",acme.com,\"two\nlines\"\n\
not-an-email,Carl,Jones,Nope,nope.com,\r\n\
ada@example.com,Ada,Again,Engines Ltd,engines.co.uk,duplicate in the file\r\n\
,Dora,Explorer,,,\r\n\
too,few,fields\r\n\
,Eve,Online,Eve Inc,https://www.eve-online.com/about,no email but a domain\r\n\
=HYPERLINK(\"x\"),Mal,Icious,,,\r\n";

#[tokio::test]
async fn a_messy_csv_is_accounted_for_row_by_row() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let import = api.csv(table, MESSY).await;
    assert_eq!(import["rows"], 8);
    assert_eq!(import["accepted"], 3, "{import}");
    assert_eq!(import["duplicates"], 1);
    assert_eq!(import["rejected"], 4);
    assert_eq!(import["blank_lines"], 1);
    assert_eq!(import["state"], "queued");
    assert_eq!(import["encoding"], "UTF-8 (BOM)");
    assert_eq!(import["delimiter"], ",");
    assert_eq!(
        import["rejected_by_reason"],
        json!({ "invalid email": 2, "no email, LinkedIn URL, domain or company": 1, "wrong number of fields": 1 })
    );
    let id = import["id"].as_i64().unwrap();
    assert_eq!(api.get(&format!("/api/v1/imports/{id}")).await["rejected_by_reason"], import["rejected_by_reason"]);

    // The report: original line numbers, reasons, cells — and formulas defused.
    let report = api
        .client
        .get(api.app.url(&format!("/api/v1/imports/{id}/rejects.csv")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_status(&report, StatusCode::OK);
    assert!(report.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = report.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "line,reason,Email,First Name,Last Name,Company,Website,Notes");
    assert!(lines.contains(&"6,invalid email,not-an-email,Carl,Jones,Nope,nope.com,"), "{text}");
    assert!(lines.contains(&"8,\"no email, LinkedIn URL, domain or company\",,Dora,Explorer,,,"), "{text}");
    assert!(lines.contains(&"9,wrong number of fields,too,few,fields"), "{text}");
    assert!(
        text.contains("11,invalid email,\"'=HYPERLINK(\"\"x\"\")\",Mal,Icious"),
        "formulas are neutralised: {text}"
    );

    // The same file again: nothing new.
    let again = api.csv(table, MESSY).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 4);
}

#[tokio::test]
async fn leads_are_normalised_and_stored_with_their_table_and_priority() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let (status, import) = api.import(&format!("table_id={table}&priority=high"), "text/csv", MESSY).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(import["priority"], "high");
    let leads: Vec<(Option<i64>, i64, i64, i64, String, String)> =
        sqlx::query_as("SELECT table_id, priority, key_hi, key_lo, payload, state FROM leads ORDER BY line")
            .fetch_all(&api.app.database.any().await)
            .await
            .unwrap();
    assert_eq!(leads.len(), 3);
    assert!(leads.iter().all(|l| l.0 == Some(table) && l.1 == 2 && l.5 == "queued"));
    let key = |lead: &(Option<i64>, i64, i64, i64, String, String)| DedupeKey { hi: lead.2, lo: lead.3 };
    assert_eq!(key(&leads[1]), DedupeKey::of("e:bob@example.com"));
    let bob: Value = serde_json::from_str(&leads[1].4).unwrap();
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["company"], "Acme \"Rockets\"");
    assert_eq!(bob["domain"], "acme.com");
    assert_eq!(bob["Notes"], "two\nlines");
    assert_eq!(key(&leads[2]), DedupeKey::of("d:eve-online.com|eve online"));
}

#[tokio::test]
async fn encodings_and_delimiters_are_detected() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    // UTF-16 LE with BOM, tab-separated.
    let text = "email\tcompany\r\nzoe@société.example.com\tSociété Générale\r\nyan@example.org\tÆrø\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let import = api.csv(table, utf16).await;
    assert_eq!((import["encoding"].as_str(), import["delimiter"].as_str()), (Some("UTF-16LE"), Some("tab")));
    assert_eq!(import["accepted"], 2, "{import}");

    // Windows-1252 (an é as 0xE9), semicolons, LF.
    let latin: Vec<u8> = b"email;company\nanne@example.net;Caf\xe9 R\xe9publique\n".to_vec();
    let import = api.csv(table, latin).await;
    assert_eq!((import["encoding"].as_str(), import["delimiter"].as_str()), (Some("Windows-1252"), Some(";")));
    let anne = DedupeKey::of("e:anne@example.net");
    let (payload,): (String,) = sqlx::query_as("SELECT payload FROM leads WHERE key_hi = $1 AND key_lo = $2")
        .bind(anne.hi)
        .bind(anne.lo)
        .fetch_one(&api.app.database.any().await)
        .await
        .unwrap();
    assert!(payload.contains("Café République"), "{payload}");

    // Pipes, and NUL bytes scattered through a row.
    let import = api.csv(table, "email|company\nn\0ul@example.com|Nul\0 Corp\n").await;
    assert_eq!(import["accepted"], 1, "{import}");
}

#[tokio::test]
async fn a_huge_field_is_refused_without_reading_it_all_and_the_rest_goes_on() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let huge = "x".repeat(300 * 1024);
    let body = format!("email,notes\nbig@example.com,\"{huge}\"\nafter@example.com,fine\n");
    let import = api.csv(table, body).await;
    assert_eq!(import["rows"], 2);
    assert_eq!(import["accepted"], 1);
    assert_eq!(import["rejected_by_reason"]["row over 100 KB"], 1);
}

#[tokio::test]
async fn unreadable_files_get_a_clear_error() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    for (body, expected) in [
        ("", "the file is empty"),
        ("\r\n\r\n", "the file is empty"),
        ("email,company\r\n", "header row but no data rows"),
    ] {
        let (status, error) = api.import(&format!("table_id={table}"), "text/csv", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        assert!(error["error"].as_str().unwrap().contains(expected), "{error}");
        let id = error["import_id"].as_i64().unwrap();
        assert_eq!(api.get(&format!("/api/v1/imports/{id}")).await["state"], "failed");
    }
    let (status, error) = api.import("table_id=999", "text/csv", "email\na@b.co\n").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, error) =
        api.import(&format!("table_id={table}&mapping=email=Nope"), "text/csv", "email\na@example.com\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["error"].as_str().unwrap().contains("Nope"), "{error}");
    let (status, _) =
        api.import(&format!("table_id={table}&priority=urgent"), "text/csv", "email\na@example.com\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn ndjson_and_json_arrays_go_through_the_same_pipeline() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let ndjson = "{\"Email\":\"a@example.com\",\"Company\":\"A\"}\n\n{\"Email\":\"broken\"\n[1,2]\n{\"Email\":\"a@example.com\"}\n{\"Website\":\"b.example.org\",\"Name\":\"B\",\"Employees\":12}\n";
    let (status, import) = api.import(&format!("table_id={table}"), "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_balanced(&import);
    assert_eq!(
        (import["rows"].as_u64(), import["accepted"].as_u64(), import["duplicates"].as_u64()),
        (Some(5), Some(2), Some(1))
    );
    assert_eq!(import["rejected_by_reason"], json!({ "invalid JSON": 1, "not a JSON object": 1 }));

    let array = json!([
        { "work_email": "c@example.com", "full_name": "C Person" },
        { "work_email": "not valid" },
        { "work_email": "d@example.com", "linkedin": "https://www.linkedin.com/in/d" }
    ]);
    let (status, import) = api.import(&format!("table_id={table}"), "application/json", array.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_eq!((import["rows"].as_u64(), import["accepted"].as_u64()), (Some(3), Some(2)));
    let (status, error) = api.import(&format!("table_id={table}"), "application/json", "{\"not\": \"an array\"}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"].as_str().unwrap().contains("not a JSON array"), "{error}");
}

/// Rows that share a physical line — a minified JSON array, a CSV whose lines end with a lone CR
/// (old Mac exports) — are still accounted for one by one: each reject keeps a number of its own.
#[tokio::test]
async fn rows_sharing_a_physical_line_are_rejected_one_by_one() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let rejects = |id: i64| {
        let request = api.client.get(api.app.url(&format!("/api/v1/imports/{id}/rejects.csv"))).bearer_auth(&api.token);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };

    let minified = r#"[{"email":"bad"},{"email":"a@example.com"},{"email":"worse"},7]"#;
    let (status, import) = api.import(&format!("table_id={table}"), "application/json", minified).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_balanced(&import);
    assert_eq!((import["accepted"].as_u64(), import["rejected"].as_u64()), (Some(1), Some(3)));
    let report = rejects(import["id"].as_i64().unwrap()).await;
    let numbers: Vec<&str> = report.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(numbers, ["1", "3", "4"], "array elements by position: {report}");

    let old_mac = "email,name\rbad,A\rb@example.com,B\rworse,C\r\rc@example.com,D";
    let import = api.csv(table, old_mac).await;
    assert_balanced(&import);
    assert_eq!((import["accepted"].as_u64(), import["rejected"].as_u64()), (Some(2), Some(2)), "{import}");
    assert_eq!(import["blank_lines"], 1);
    let report = rejects(import["id"].as_i64().unwrap()).await;
    assert!(
        report.contains("\r\n2,invalid email,bad,A\r\n") && report.contains("\r\n4,invalid email,worse,C"),
        "{report}"
    );

    // NDJSON written with a byte order mark keeps its first row; a final line end is no blank line.
    let ndjson = "\u{feff}{\"email\":\"e@example.com\"}\n{\"email\":\"f@example.com\"}\n";
    let (status, import) = api.import(&format!("table_id={table}"), "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_eq!((import["accepted"].as_u64(), import["blank_lines"].as_u64()), (Some(2), Some(0)), "{import}");
}

#[tokio::test]
async fn the_mapping_can_be_overridden() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let body = "Contact,Other Mail\nnot an email,real@example.com\n";
    // Detected: no email column at all → nothing to enrich.
    let import = api.csv(table, body).await;
    assert_eq!(import["rejected"], 1);
    for mapping in ["email=Other%20Mail", "%7B%22email%22%3A%22Other%20Mail%22%7D", "email=%232"] {
        let (status, import) = api.import(&format!("table_id={table}&mapping={mapping}"), "text/csv", body).await;
        assert_eq!(status, StatusCode::CREATED, "{mapping}: {import}");
        assert_eq!(
            import["accepted"].as_u64().unwrap() + import["duplicates"].as_u64().unwrap(),
            1,
            "{mapping}: {import}"
        );
    }
}

/// JSON leaves empty values out: a mapping may name a key the first object lacks.
#[tokio::test]
async fn a_json_mapping_may_name_a_key_the_first_object_lacks() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let ndjson = "{\"name\":\"A\"}\n{\"name\":\"B\",\"Work Email\":\"b@example.com\"}\n";
    let query = format!("table_id={table}&mapping=email%3DWork%20Email");
    let (status, import) = api.import(&query, "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_eq!((import["accepted"].as_u64(), import["rejected"].as_u64()), (Some(1), Some(1)), "{import}");
    let (status, error) = api.import(&query.replace("Work%20Email", "%2399"), "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a position past the keys is still refused: {error}");
}

/// Every key is a column of every later row: a file may not bring keys without end.
#[tokio::test]
async fn json_objects_may_not_bring_new_keys_without_end() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let ndjson: String = (0..1_200).map(|i| format!("{{\"email\":\"p{i}@example.com\",\"k{i}\":\"v\"}}\n")).collect();
    let (status, import) = api.import(&format!("table_id={table}"), "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_balanced(&import);
    // `email` and 999 new keys fit; the 1,000th object's key would be the 1,001st column.
    assert_eq!((import["accepted"].as_u64(), import["rejected"].as_u64()), (Some(999), Some(201)), "{import}");
    assert_eq!(import["rejected_by_reason"], json!({ "over 1,000 distinct keys in the file": 201 }));
}

#[tokio::test]
async fn rows_are_routed_to_tables_by_rules() {
    let api = Api::new().await;
    let (workspace, europe) = api.table(None).await;
    let americas = api
        .post(
            "/api/v1/tables",
            json!({ "workspace_id": workspace.to_string(), "name": "Americas", "credits_per_lead": 3 }),
        )
        .await;
    let americas = americas["id"].as_i64().unwrap();
    let rules = json!({
        "rules": [
            { "column": "country", "condition": { "op": "one_of", "value": ["FR", "DE", "ES"] }, "table_id": europe },
            { "column": "Country", "condition": { "op": "matches", "value": "^(us|ca|br)$" }, "table_id": americas }
        ],
        "fallback": { "kind": "hold" }
    });
    let response = api
        .client
        .put(api.app.url(&format!("/api/v1/workspaces/{workspace}/routing")))
        .bearer_auth(&api.token)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    let body = "email,country\na@example.com,fr\nb@example.com,US\nc@example.com,JP\nd@example.com, de \n";
    let (status, import) = api.import("routing=rules", "text/csv", body).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_eq!((import["accepted"].as_u64(), import["held"].as_u64()), (Some(4), Some(1)));
    assert_eq!(import["estimated_credits"], 2.0 + 3.0 + 2.0);
    let routed: Vec<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT key_hi, key_lo, table_id FROM leads ORDER BY line")
            .fetch_all(&api.app.database.any().await)
            .await
            .unwrap();
    let routed: Vec<(DedupeKey, Option<i64>)> =
        routed.into_iter().map(|(hi, lo, table)| (DedupeKey { hi, lo }, table)).collect();
    assert_eq!(
        routed,
        [
            (DedupeKey::of("e:a@example.com"), Some(europe)),
            (DedupeKey::of("e:b@example.com"), Some(americas)),
            (DedupeKey::of("e:c@example.com"), None),
            (DedupeKey::of("e:d@example.com"), Some(europe)),
        ]
    );
    // JSON objects may leave a key out: a rule on a key the first object lacks still applies to
    // the objects that have it.
    let ndjson = "{\"email\":\"e@example.com\"}\n{\"email\":\"f@example.com\",\"country\":\"DE\"}\n{\"email\":\"g@example.com\",\"country\":\"us\"}\n";
    let (status, import) = api.import("routing=rules", "application/x-ndjson", ndjson).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    let pool = api.app.database.any().await;
    for (email, routed) in [("e@example.com", None), ("f@example.com", Some(europe)), ("g@example.com", Some(americas))]
    {
        let key = DedupeKey::of(&format!("e:{email}"));
        let (table,): (Option<i64>,) = sqlx::query_as("SELECT table_id FROM leads WHERE key_hi = $1 AND key_lo = $2")
            .bind(key.hi)
            .bind(key.lo)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(table, routed, "{email}");
    }

    let bad =
        json!({ "rules": [{ "column": "x", "condition": { "op": "matches", "value": "(" }, "table_id": europe }] });
    let response = api
        .client
        .put(api.app.url(&format!("/api/v1/workspaces/{workspace}/routing")))
        .bearer_auth(&api.token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn imports_over_the_budget_wait_for_an_operator_when_asked() {
    let api = Api::new().await;
    let (_, table) = api.table(Some(5)).await;
    // 2 credits a lead, budget 5: two leads fit.
    let body = "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\n";
    let (_, import) = api.import(&format!("table_id={table}&over_budget=ask"), "text/csv", body).await;
    assert_eq!(import["state"], "awaiting_decision");
    assert_eq!(import["estimated_credits"], 8.0);
    let id = import["id"].as_i64().unwrap();
    let response = api
        .client
        .post(api.app.url(&format!("/api/v1/imports/{id}/queue?mode=fit")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    let decided: Value = response.json().await.unwrap();
    assert_eq!(
        (decided["state"].as_str(), decided["held"].as_u64(), decided["estimated_credits"].as_f64()),
        (Some("queued"), Some(2), Some(4.0))
    );
    // What sending them would take: two beyond the budget, at their table's 2 credits.
    let held = api.get(&format!("/api/v1/imports/{id}/held")).await;
    assert_eq!(held, json!({ "unrouted": 0, "beyond_budget": 2, "beyond_budget_credits": 4.0 }));
    // Later (a budget raised, a new month), the leads held beyond it go to their own table.
    let url = api.app.url(&format!("/api/v1/imports/{id}/queue-held"));
    let response = api.client.post(url).bearer_auth(&api.token).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let sent: Value = response.json().await.unwrap();
    assert_eq!((sent["held"].as_u64(), sent["estimated_credits"].as_f64()), (Some(0), Some(8.0)), "{sent}");
    assert_eq!(sent["delivery"]["queued"], 4, "{sent}");

    // The API's default queues everything: delivery stops at the budget anyway.
    let (_, import) = api.import(&format!("table_id={table}"), "text/csv", "email\ne@example.com\n").await;
    assert_eq!(import["state"], "queued");
}

#[tokio::test]
async fn imports_need_a_token_with_the_operator_role() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let url = api.app.url(&format!("/api/v1/imports?table_id={table}"));
    let response = api.client.post(&url).body("email\na@example.com\n").send().await.unwrap();
    assert_status(&response, StatusCode::UNAUTHORIZED);
    let viewer = api.app.token("viewer", Role::Viewer).await;
    let response = api.client.post(&url).bearer_auth(viewer).body("email\na@example.com\n").send().await.unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);
}

/// A database of a version before keys were hashed, first started on this one: its plain keys
/// (migration 0017 keeps them aside) are hashed, so the leads stay duplicates of the same leads
/// coming again; one whose hash another lead took keeps its row but takes no part in dedupe.
#[tokio::test]
async fn plain_dedupe_keys_of_earlier_versions_are_hashed_at_the_first_start_only() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    api.csv(table, "email\nada@example.com\nbob@example.com\n").await;
    let pool = api.app.database.any().await;
    type Stored = (Option<i64>, Option<i64>, Option<String>);
    async fn stored(pool: &sqlx::AnyPool) -> Vec<Stored> {
        sqlx::query_as("SELECT key_hi, key_lo, legacy_dedupe_key FROM leads ORDER BY id").fetch_all(pool).await.unwrap()
    }
    let plain = "UPDATE leads SET key_hi = NULL, key_lo = NULL, legacy_dedupe_key = 'e:ada@example.com'";
    // Both leads as such a version stored them, the second one with the first one's key.
    sqlx::query(plain).execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM upkeep").execute(&pool).await.unwrap();
    kiln::store::Db::connect(&api.app.database.url).await.unwrap();
    let ada = DedupeKey::of("e:ada@example.com");
    assert_eq!(stored(&pool).await, [(Some(ada.hi), Some(ada.lo), None), (None, None, None)]);
    assert_eq!(api.csv(table, "email\nada@example.com\n").await["duplicates"], 1);

    // Done once: later starts do not read the leads again.
    sqlx::query(plain).execute(&pool).await.unwrap();
    kiln::store::Db::connect(&api.app.database.url).await.unwrap();
    assert_eq!(stored(&pool).await[0], (None, None, Some("e:ada@example.com".to_owned())));
}

/// A database of the version before keys were two integers (migrations up to 0016): migration
/// 0017 turns each hex key into the two halves a new import computes for the same lead, so the
/// leads stay duplicates of themselves; a marked key (a lead kept beside the one whose hash it
/// had) takes no part in dedupe, and a plain key is hashed at the start.
#[tokio::test]
async fn hex_dedupe_keys_become_the_same_two_halves_at_the_upgrade() {
    let database = support::TestDatabase::fresh().await;
    let store = if database.is_postgres() { "postgres" } else { "sqlite" };
    if !database.is_postgres() {
        std::fs::File::create(database.dir.path().join("kiln.db")).unwrap();
    }
    let pool = database.any().await;
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(store);
    let earlier = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0017" {
            std::fs::copy(&path, earlier.path().join(name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(earlier.path()).await.unwrap().run(&pool).await.unwrap();
    let hex = |key: &str| {
        let key = DedupeKey::of(key);
        format!("{:016x}{:016x}", key.hi as u64, key.lo as u64)
    };
    // Bob's hash begins with a set bit: its first half is negative.
    let keys = [
        hex("e:ada@example.com"),
        hex("e:bob@example.com"),
        format!("{}-3", hex("e:ada@example.com")),
        "e:dora@example.com".to_owned(),
    ];
    for (line, key) in keys.iter().enumerate() {
        sqlx::query(
            "INSERT INTO leads (workspace_id, import_id, priority, line, dedupe_key, payload, state, created_at)
             VALUES (1, 1, 1, $1, $2, '{}', 'queued', 0)",
        )
        .bind(line as i64 + 1)
        .bind(key.as_str())
        .execute(&pool)
        .await
        .unwrap();
    }

    kiln::store::Db::connect(&database.url).await.unwrap();
    let stored: Vec<(Option<i64>, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT key_hi, key_lo, legacy_dedupe_key FROM leads ORDER BY line")
            .fetch_all(&pool)
            .await
            .unwrap();
    let halves = |key: &str| {
        let key = DedupeKey::of(key);
        (Some(key.hi), Some(key.lo), None)
    };
    assert!(DedupeKey::of("e:bob@example.com").hi < 0);
    assert_eq!(
        stored,
        [halves("e:ada@example.com"), halves("e:bob@example.com"), (None, None, None), halves("e:dora@example.com")]
    );
    let again = sqlx::query(
        "INSERT INTO leads (workspace_id, import_id, priority, line, key_hi, key_lo, payload, state, created_at)
         VALUES (1, 1, 1, 5, $1, $2, '{}', 'queued', 0)",
    )
    .bind(DedupeKey::of("e:bob@example.com").hi)
    .bind(DedupeKey::of("e:bob@example.com").lo)
    .execute(&pool)
    .await;
    assert!(again.is_err(), "the same lead again is refused by the unique key");
}

/// The real files in ../shared/data/real, as they come from the world.
#[tokio::test]
async fn real_files_are_read_whole_and_accounted_for() {
    let api = Api::new().await;
    let (_, table) = api.table(None).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/real");
    for (file, rows, mapping) in [
        ("datablist-leads-10000.csv", 10_000, ""),
        ("datablist-customers-10000.csv", 10_000, ""),
        ("datablist-organizations-10000.csv", 10_000, ""),
        ("yc-companies.csv", 5_706, ""),
        ("legislators-current.csv", 537, ""),
        // Its company column is called "Security": the mapping says so.
        ("sp500-constituents.csv", 503, "&mapping=company=Security"),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let (status, import) = api.import(&format!("table_id={table}{mapping}"), "text/csv", bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{file}: {import}");
        assert_balanced(&import);
        assert_eq!(import["rows"], rows, "{file}: {import}");
        assert_eq!(import["encoding"], "UTF-8", "{file}");
        // Synthetic and real files repeat companies (one domain, several rows): duplicates are
        // fine; rejects are not, beyond a handful of rows with nothing to enrich.
        let rejected = import["rejected"].as_u64().unwrap();
        assert!(rejected < rows / 20, "{file}: {import}");
    }
}

/// Every documented path answers (none is a 404 route), and every route served is documented.
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let api = Api::new().await;
    let response = api.client.get(api.app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let served = [
        ("GET", "/me"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/{id}"),
        ("GET", "/workspaces"),
        ("POST", "/workspaces"),
        ("GET", "/workspaces/{id}"),
        ("PUT", "/workspaces/{id}"),
        ("GET", "/workspaces/{id}/routing"),
        ("PUT", "/workspaces/{id}/routing"),
        ("GET", "/tables"),
        ("POST", "/tables"),
        ("GET", "/tables/{id}"),
        ("PUT", "/tables/{id}"),
        ("GET", "/tables/{id}/webhooks"),
        ("POST", "/tables/{id}/webhooks"),
        ("GET", "/webhooks/{id}"),
        ("PATCH", "/webhooks/{id}"),
        ("GET", "/imports"),
        ("POST", "/imports"),
        ("GET", "/imports/{id}"),
        ("GET", "/imports/{id}/rejects.csv"),
        ("POST", "/imports/{id}/queue"),
        ("POST", "/imports/{id}/pause"),
        ("POST", "/imports/{id}/resume"),
        ("POST", "/imports/{id}/cancel"),
        ("POST", "/imports/{id}/requeue-dead"),
        ("POST", "/imports/{id}/priority"),
        ("GET", "/imports/{id}/held"),
        ("POST", "/imports/{id}/queue-held"),
        ("GET", "/workspaces/{id}/budget"),
        ("GET", "/tables/{id}/callback"),
        ("POST", "/tables/{id}/callback/rotate"),
        ("GET", "/tables/{id}/after-clay"),
        ("PUT", "/tables/{id}/after-clay"),
        ("POST", "/tables/{id}/requeue-dead-forwards"),
        ("GET", "/imports/{id}/leads.csv"),
        ("POST", "/callbacks/{table_id}"),
        ("GET", "/alerts"),
        ("GET", "/audit"),
    ];
    let mut served: Vec<(String, String)> = served.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let mut documented_sorted = documented.clone();
    served.sort();
    documented_sorted.sort();
    assert_eq!(documented_sorted, served);
    for (method, path) in &documented {
        let url = api.app.url(&format!("/api/v1{}", path.replace("{id}", "999999").replace("{table_id}", "999999")));
        let response = api
            .client
            .request(method.parse().unwrap(), url)
            .bearer_auth(&api.token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let text = response.text().await.unwrap();
        assert!(!text.is_empty(), "{method} {path} answers with a body");
    }
}

/// An import keeps its write transaction open only while the parser has rows ready: when the
/// upload stalls, what came so far is committed (and counted) and the database's write lock is
/// free for everyone else (on SQLite, the delivery worker and the pages wait for that lock).
#[tokio::test]
async fn a_stalled_upload_commits_what_came_and_leaves_the_database_writable() {
    let api = Api::new().await;
    let (workspace, table) = api.table(None).await;
    let (chunks, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let upload = {
        let request = api
            .client
            .post(api.app.url(&format!("/api/v1/imports?table_id={table}")))
            .bearer_auth(&api.token)
            .header("content-type", "text/csv")
            .body(body);
        tokio::spawn(request.send())
    };
    // More than one batch of the parser's (20,000 rows), then the upload stalls.
    let rows =
        |range: std::ops::Range<u32>| range.map(|i| format!("lead{i}@example.com,Lead {i}\n")).collect::<String>();
    chunks.send(Ok(format!("email,name\n{}", rows(0..25_000)))).await.unwrap();

    let pool = api.app.database.any().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let counted: Option<(i64,)> =
            sqlx::query_as("SELECT rows FROM imports ORDER BY id DESC LIMIT 1").fetch_optional(&pool).await.unwrap();
        if counted.is_some_and(|(rows,)| rows >= 20_000) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first batch was never committed: {counted:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Another writer gets through at once, not after the database's 10-second busy timeout.
    let started = std::time::Instant::now();
    let other =
        api.post("/api/v1/tables", json!({ "workspace_id": workspace, "name": "Other", "credits_per_lead": 1 }));
    tokio::time::timeout(std::time::Duration::from_secs(5), other)
        .await
        .expect("a write waited for the stalled import");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    chunks.send(Ok(rows(25_000..30_000))).await.unwrap();
    drop(chunks);
    let response = upload.await.unwrap().unwrap();
    assert_status(&response, StatusCode::CREATED);
    let import: Value = response.json().await.unwrap();
    assert_balanced(&import);
    assert_eq!(import["rows"], 30_000);
    assert_eq!(import["accepted"], 30_000);
}
