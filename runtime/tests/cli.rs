//! The `relata` binary as a user runs it: serve the stock application on an
//! empty data directory, answer HTTP, stop cleanly on SIGTERM; validate and
//! plan packages from the command line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn relata(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relata"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("RELATA_DATABASE_URL")
        .env("RELATA_DATA_DIR", data_dir)
        .env("RELATA_LOG", "info");
    cmd
}

fn http(addr: &str, request: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[test]
fn serve_applies_the_stock_application_and_stops_on_sigterm() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut child = relata(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("RELATA_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Logs and the first start's notice (the generated password of
    // `admin`) go to standard error; standard output stays for what a
    // command prints.
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut text);
        text
    });
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut log = Vec::new();
    let addr = loop {
        let line = printed
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "server exited or went quiet before listening")?;
        log.push(line.clone());
        if let Some(rest) = line.split("serving on http://").nth(1) {
            let hostport = rest.split_whitespace().next().unwrap_or_default();
            break hostport.split('/').next().unwrap_or_default().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
    };
    let health = http(&addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.contains("\"release\":1"),
        "the stock application is release 1: {health}"
    );
    // The notice comes after the start-up lines, so it is the last thing seen.
    let mut password = None;
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(10)) {
        log.push(line.clone());
        if let Some(p) = line.trim().strip_prefix("password: ") {
            password = Some(p.to_owned());
            break;
        }
    }
    let password = password.ok_or("the first admin's password was not printed")?;
    assert_eq!(password.len(), 20, "{password}");
    assert!(
        log.iter().any(|l| l.contains(&format!("http://{addr}/app"))),
        "the notice says where to sign in: {log:?}"
    );
    // Not a terminal: plain text, no colour codes.
    assert!(
        !log.iter().any(|l| l.contains('\u{1b}')),
        "colour codes in a pipe: {log:?}"
    );

    let body = r#"{"name":"Acme"}"#;
    let post = |auth: &str| {
        format!(
            "POST /api/v1/records/company HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let refused = http(&addr, &post(""))?;
    assert!(refused.starts_with("HTTP/1.1 401"), "no credentials: {refused}");
    // A token made from the command line while the server runs.
    let out = relata(dir.path())
        .args(["create-token", "admin", "--name", "cli test"])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Standard output is the token and nothing else: `TOKEN=$(relata create-token ..)` works.
    let printed_token = String::from_utf8(out.stdout)?;
    let token = printed_token.trim_end_matches('\n').to_owned();
    assert!(
        token.starts_with("rlt_") && !token.contains(char::is_whitespace),
        "{printed_token:?}"
    );
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(told.contains("shown only now"), "{told}");
    assert!(!told.contains('\u{1b}'), "colour codes in a pipe: {told}");
    let created = http(&addr, &post(&format!("Authorization: Bearer {token}\r\n")))?;
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    assert!(
        dir.path().join("bm.db").exists() && dir.path().join("ed.db").exists(),
        "two SQLite files under the data dir"
    );

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    let serve_stdout = out_reader.join().map_err(|_| "stdout reader panicked")?;
    assert!(
        !serve_stdout.contains(&password),
        "the password went to standard output"
    );
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(exit) = child.try_wait()? {
            assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn validate_prints_every_error_and_fails() -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let pkg = tempfile::tempdir()?;
    std::fs::write(
        pkg.path().join("a.yaml"),
        "version: 1\nkind: picklist\nname: Bad\nlabel: { en: B, zh-CN: 坏 }\nvalues: []\n",
    )?;
    let out = relata(data.path()).arg("validate").arg(pkg.path()).output()?;
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("the metadata has 2 error(s)"), "{err}");
    assert!(
        err.contains("a.yaml: name: `Bad` must start with a lower-case letter"),
        "{err}"
    );
    assert!(
        err.contains("a.yaml: values: a pick list needs at least one value"),
        "{err}"
    );
    Ok(())
}

#[test]
fn apply_plan_prints_the_plan_and_changes_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let out = relata(data.path()).args(["apply", "metadata", "--plan"]).output()?;
    let stdout = String::from_utf8(out.stdout)?;
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("contact"),
        "the plan names the tables it would create: {stdout}"
    );
    assert!(stdout.contains("plan only: nothing was changed"), "{stdout}");
    let releases = relata(data.path()).arg("releases").output()?;
    assert!(
        String::from_utf8(releases.stdout)?.trim().is_empty(),
        "no release was recorded"
    );
    let applied = relata(data.path())
        .args(["apply", "metadata", "--comment", "first"])
        .output()?;
    assert!(String::from_utf8(applied.stdout)?.contains("release 1 is active"));
    let listed = String::from_utf8(relata(data.path()).arg("releases").output()?.stdout)?;
    assert!(
        listed.starts_with("*    1 ") && listed.contains("applied") && listed.trim_end().ends_with("first"),
        "{listed}"
    );
    Ok(())
}
