//! The `kiln` binary's commands, run as a user would run them.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

fn kiln(dir: &tempfile::TempDir, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("KILN_DATABASE_URL")
        .env("KILN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln binary");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_and_tokens_are_created_from_the_command_line_into_kiln_db() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        kiln(&dir, &["user", "create", "--email", "Ada@Example.com", "--role", "admin"], "correct horse battery\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created admin user ada@example.com"));
    assert!(dir.path().join("kiln.db").is_file(), "the default database is kiln.db in the working directory");

    let out = kiln(&dir, &["user", "create", "--email", "bob@example.com", "--role", "viewer"], "short\n");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("at least 10 characters"), "{}", text(&out.stderr));

    let out = kiln(&dir, &["token", "create", "--name", "ci", "--role", "operator"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = text(&out.stdout).trim().to_owned();
    assert!(secret.starts_with("kiln_") && secret.len() == 69, "only the token on stdout: {secret:?}");

    // Only the hash is stored.
    let db = std::fs::read(dir.path().join("kiln.db")).unwrap();
    let wal = std::fs::read(dir.path().join("kiln.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret must not be stored");
    }

    let out = kiln(&dir, &["token", "list"], "");
    assert!(text(&out.stdout).contains("ci\toperator\tactive"), "{}", text(&out.stdout));
    let out = kiln(&dir, &["token", "revoke", "ci"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kiln(&dir, &["token", "list"], "");
    assert!(text(&out.stdout).contains("ci\toperator\trevoked"));
    let out = kiln(&dir, &["token", "revoke", "ci"], "");
    assert!(!out.status.success(), "revoking twice is an error");
}

#[test]
fn bad_configuration_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--database-url", "mysql://root:secret@db/kiln"][..], "unsupported database \"mysql\""),
        (&["serve", "--addr", "localhost"][..], "invalid socket address"),
        (&["--log", "kiln=[["][..], "invalid log filter"),
        (&["serve", "--database-url", "sqlite:///nonexistent-dir/x/kiln.db"][..], "cannot open the database"),
        (&["user", "create", "--email", "a@b.co", "--role", "root"][..], "unknown role"),
    ] {
        let out = kiln(&dir, args, "");
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{args:?}: {stderr}");
        assert!(!stderr.contains("secret"), "no password in messages: {stderr}");
    }
}
