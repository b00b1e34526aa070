//! Clients that do not play fair, against the real binary over real sockets: slow-loris
//! connections that trickle their headers are cut at the header deadline and cannot starve
//! the capped connection slots; a burst of many more clients than slots is served in full
//! once slots free up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::serve::{sigterm, start_with};

/// One `GET /healthz` over a fresh connection; the status line.
fn healthz(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn slow_loris_connections_are_cut_and_a_burst_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let config = dir.path().join("lakehouse.toml");
    std::fs::write(
        &config,
        "[limits]\nconnections = 8\nheader_timeout_ms = 500\n",
    )
    .unwrap();
    let (mut child, base) = start_with(&store, &[], &["--config", &config.display().to_string()]);
    let addr = base.trim_start_matches("http://").to_string();

    // eight clients take every slot and trickle their headers, a byte at a time
    let started = Instant::now();
    let mut loris: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .unwrap();
            s
        })
        .collect();
    let trickle = std::thread::spawn({
        let mut streams: Vec<TcpStream> = loris.iter().map(|s| s.try_clone().unwrap()).collect();
        move || {
            for _ in 0..30 {
                for s in &mut streams {
                    let _ = s.write_all(b"X");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    // a fair client still gets its answer, once the deadline has cut the slow ones
    assert_eq!(healthz(&addr), "HTTP/1.1 200 OK");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "the fair client waited {waited:?}"
    );
    for s in &mut loris {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        // the server closes the slow connection (EOF or reset), without an answer to it
        match s.read_to_end(&mut buf) {
            Ok(_) => assert!(
                !String::from_utf8_lossy(&buf).contains("200 OK"),
                "a slow client was served"
            ),
            Err(e) => assert!(
                e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut,
                "the slow connection was left open: {e}"
            ),
        }
    }
    trickle.join().unwrap();

    // eight times more clients than slots at once: all served
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || healthz(&addr))
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), "HTTP/1.1 200 OK");
    }
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}
