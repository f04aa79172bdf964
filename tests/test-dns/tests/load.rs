//! Many records, many queries: lookups must stay fast with 5,000 records held.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hickory_proto::{
    op::{Message, Query, ResponseCode},
    rr::{Name, RecordType},
};
use tokio::net::UdpSocket;

const RECORDS: usize = 5_000;
const SEQUENTIAL: usize = 2_000;

fn query(name: &str, id: u16) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::TXT));
    m.to_vec().unwrap()
}

async fn ask(socket: &UdpSocket, buf: &mut [u8], name: &str, id: u16) -> Message {
    socket.send(&query(name, id)).await.unwrap();
    let len = tokio::time::timeout(Duration::from_secs(2), socket.recv(buf))
        .await
        .expect("answer within 2 s")
        .unwrap();
    let answer = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(answer.metadata.id, id);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_records_answer_two_thousand_sequential_queries_quickly() {
    let dns = common::start().await;
    for i in 0..RECORDS {
        dns.add_txt(
            &format!("_cf-custom-hostname.d{i}.example.com"),
            &format!("token-{i}"),
        );
    }
    assert_eq!(dns.stats().records, RECORDS);

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(dns.addr()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let started = Instant::now();
    for i in 0..SEQUENTIAL {
        // Spread over the whole store, mixing hits and misses.
        let n = (i * 7_919) % (RECORDS + RECORDS / 4);
        let name = format!("_cf-custom-hostname.d{n}.example.com.");
        let answer = ask(&socket, &mut buf, &name, i as u16).await;
        if n < RECORDS {
            assert_eq!(answer.answers.len(), 1, "{name}");
        } else {
            assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain, "{name}");
        }
    }
    let elapsed = started.elapsed();
    let rate = SEQUENTIAL as f64 / elapsed.as_secs_f64();
    println!(
        "test-dns: {SEQUENTIAL} sequential UDP queries over {RECORDS} records in {elapsed:?} ({rate:.0} q/s)"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "{SEQUENTIAL} queries took {elapsed:?}"
    );
    assert_eq!(dns.queries(), SEQUENTIAL as u64);
    dns.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_throughput() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 500;
    let dns = common::start().await;
    for i in 0..RECORDS {
        dns.add_txt(&format!("d{i}.example.com"), "v");
    }
    let addr = dns.addr();
    let started = Instant::now();
    let mut clients = Vec::new();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for c in 0..CLIENTS {
        let done = done.clone();
        clients.push(tokio::spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.connect(addr).await.unwrap();
            let mut buf = vec![0u8; 4096];
            for i in 0..PER_CLIENT {
                let name = format!("d{}.example.com.", (c * PER_CLIENT + i) % RECORDS);
                ask(&socket, &mut buf, &name, i as u16).await;
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let elapsed = started.elapsed();
    let total = CLIENTS * PER_CLIENT;
    println!(
        "test-dns: {total} queries from {CLIENTS} concurrent clients in {elapsed:?} ({:.0} q/s)",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), total);
    assert_eq!(dns.queries(), total as u64);
    assert!(
        elapsed < Duration::from_secs(10),
        "{total} queries took {elapsed:?}"
    );
    dns.shutdown().await;
}
