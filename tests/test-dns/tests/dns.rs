//! The server seen through a real resolver (hickory) and raw DNS messages over UDP and TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    time::{Duration, Instant},
};

use common::{raw_tcp, raw_udp, resolver, start, tcp_resolver, txt};
use hickory_proto::{
    op::ResponseCode,
    rr::{RData, RecordType},
};
use test_dns::{Outcome, RecordData, RecordKind, Transport};

#[tokio::test]
async fn added_and_removed_records_are_visible_immediately() {
    let dns = start().await;
    let r = resolver(dns.addr());
    let name = "_cf-custom-hostname.login.example.com.";

    assert!(txt(&r, name).await.unwrap_err().is_nx_domain());
    dns.add_txt(name, "token-1");
    assert_eq!(txt(&r, name).await.unwrap(), vec!["token-1"]);
    assert_eq!(dns.remove(name, Some(RecordKind::Txt)), 1);
    assert!(txt(&r, name).await.unwrap_err().is_nx_domain());
    dns.shutdown().await;
}

#[tokio::test]
async fn several_txt_values_and_removing_one() {
    let dns = start().await;
    let r = resolver(dns.addr());
    dns.add_txt("multi.example.com", "b-value");
    dns.add_txt("multi.example.com", "a-value");
    dns.add_txt("multi.example.com", "a-value"); // duplicate kept once
    let long = "x".repeat(600); // split into three character-strings on the wire
    dns.add_txt("multi.example.com", &long);
    let mut want = vec!["a-value".to_string(), "b-value".to_string(), long.clone()];
    want.sort();
    assert_eq!(txt(&r, "multi.example.com.").await.unwrap(), want);

    assert!(dns.remove_value("multi.example.com", &RecordData::Txt("b-value".into())));
    let mut want = vec!["a-value".to_string(), long];
    want.sort();
    assert_eq!(txt(&r, "multi.example.com.").await.unwrap(), want);
    dns.shutdown().await;
}

#[tokio::test]
async fn nxdomain_versus_nodata_with_aa_and_soa() {
    let dns = start().await;
    dns.add_a("host.example.com", Ipv4Addr::new(192, 0, 2, 7));
    let r = resolver(dns.addr());

    let nodata = txt(&r, "host.example.com.").await.unwrap_err();
    assert!(
        nodata.is_no_records_found() && !nodata.is_nx_domain(),
        "{nodata:?}"
    );
    let nx = txt(&r, "absent.example.com.").await.unwrap_err();
    assert!(nx.is_nx_domain(), "{nx:?}");

    let nodata = raw_udp(dns.addr(), "host.example.com.", RecordType::TXT, false).await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert!(nodata.metadata.authoritative);
    assert!(!nodata.metadata.recursion_available);
    assert_eq!(nodata.authorities.len(), 1);
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);

    let nx = raw_udp(dns.addr(), "absent.example.com.", RecordType::A, true).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(nx.metadata.authoritative);
    assert!(nx.edns.is_some(), "EDNS query gets an EDNS answer");
    match &nx.authorities[0].data {
        RData::SOA(soa) => assert_eq!(soa.minimum, 5, "negative TTL follows the record TTL"),
        other => panic!("expected SOA, got {other:?}"),
    }

    let a = raw_udp(dns.addr(), "host.example.com.", RecordType::A, false).await;
    assert!(a.metadata.authoritative);
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].ttl, 5);
    assert_eq!(a.answers[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 7).into()));
    dns.shutdown().await;
}

#[tokio::test]
async fn cname_answers_other_types_and_is_chased_inside_the_zone() {
    let dns = start().await;
    let r = resolver(dns.addr());
    // Target outside what the server holds: the CNAME alone, NOERROR.
    dns.add_cname("login.example.com", "tenant-cd-abc.edge.tenants.auth0.com.");
    let raw = raw_udp(dns.addr(), "login.example.com.", RecordType::A, false).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    assert_eq!(raw.answers.len(), 1);
    match &raw.answers[0].data {
        RData::CNAME(c) => assert_eq!(c.0.to_ascii(), "tenant-cd-abc.edge.tenants.auth0.com."),
        other => panic!("expected CNAME, got {other:?}"),
    }
    let cname = r.lookup("login.example.com.", RecordType::CNAME).await.unwrap();
    assert_eq!(cname.answers().len(), 1);

    // Target held: chased, the answer holds the CNAME then the address.
    dns.add_cname("www.example.com", "edge.example.net");
    dns.add_a("edge.example.net", Ipv4Addr::new(198, 51, 100, 1));
    dns.add_aaaa("edge.example.net", Ipv6Addr::LOCALHOST);
    let ips: Vec<_> = r.lookup_ip("www.example.com.").await.unwrap().iter().collect();
    assert!(ips.contains(&Ipv4Addr::new(198, 51, 100, 1).into()), "{ips:?}");
    let raw = raw_udp(dns.addr(), "www.example.com.", RecordType::A, false).await;
    let types: Vec<RecordType> = raw.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, vec![RecordType::CNAME, RecordType::A]);

    // A CNAME loop ends without hanging.
    dns.add_cname("loop-a.example.com", "loop-b.example.com");
    dns.add_cname("loop-b.example.com", "loop-a.example.com");
    let raw = raw_udp(dns.addr(), "loop-a.example.com.", RecordType::TXT, false).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    assert_eq!(raw.answers.len(), 8);
    dns.shutdown().await;
}

#[tokio::test]
async fn names_are_case_insensitive_with_or_without_trailing_dot() {
    let dns = start().await;
    let r = resolver(dns.addr());
    dns.add_txt("MixedCase.Example.COM.", "v");
    assert_eq!(txt(&r, "mixedcase.example.com").await.unwrap(), vec!["v"]);
    assert_eq!(txt(&r, "MIXEDCASE.EXAMPLE.COM.").await.unwrap(), vec!["v"]);
    let raw = raw_udp(dns.addr(), "mIxEdCaSe.example.com.", RecordType::TXT, false).await;
    assert_eq!(raw.answers.len(), 1);
    assert_eq!(
        raw.answers[0].name.to_ascii(),
        "mIxEdCaSe.example.com.",
        "owner name echoes the question's case (0x20)"
    );
    assert_eq!(dns.queries_for("MIXEDCASE.example.com."), 3);
    assert_eq!(dns.records()[0].name, "mixedcase.example.com");
    dns.shutdown().await;
}

#[tokio::test]
async fn tcp_queries_are_answered_on_the_same_port() {
    let dns = start().await;
    dns.add_txt("tcp.example.com", "over-tcp");
    let r = tcp_resolver(dns.addr());
    assert_eq!(txt(&r, "tcp.example.com.").await.unwrap(), vec!["over-tcp"]);
    let raw = raw_tcp(dns.addr(), "tcp.example.com.", RecordType::TXT).await;
    assert_eq!(raw.answers.len(), 1);
    assert!(dns.stats().tcp >= 2);
    assert!(dns.query_log().iter().any(|q| q.transport == Transport::Tcp));
    dns.shutdown().await;
}

#[tokio::test]
async fn oversized_udp_answers_are_truncated_and_the_resolver_retries_over_tcp() {
    let dns = start().await;
    for i in 0..20 {
        dns.add_txt("big.example.com", &format!("{i:02}-{}", "y".repeat(60)));
    }
    let raw = raw_udp(dns.addr(), "big.example.com.", RecordType::TXT, false).await;
    assert!(raw.metadata.truncation, "over 512 bytes without EDNS sets TC");
    assert!(raw.answers.is_empty());
    let r = resolver(dns.addr());
    assert_eq!(txt(&r, "big.example.com.").await.unwrap().len(), 20);
    dns.shutdown().await;
}

#[tokio::test]
async fn counters_count_every_query_per_name() {
    let dns = start().await;
    let r = resolver(dns.addr());
    dns.add_txt("counted.example.com", "1");
    for _ in 0..3 {
        txt(&r, "counted.example.com.").await.unwrap();
    }
    let _ = txt(&r, "missing.example.com.").await;
    assert_eq!(dns.queries_for("counted.example.com"), 3);
    assert_eq!(dns.queries_for("missing.example.com"), 1);
    assert_eq!(dns.queries_for_kind("counted.example.com", RecordKind::Txt), 3);
    assert_eq!(dns.queries_for_kind("counted.example.com", RecordKind::A), 0);
    assert_eq!(dns.queries(), 4);
    let stats = dns.stats();
    assert_eq!((stats.answered, stats.nxdomain), (3, 1));
    let last = dns.query_log().pop().unwrap();
    assert_eq!(
        (last.name.as_str(), last.qtype.as_str()),
        ("missing.example.com", "TXT")
    );
    assert_eq!(last.outcome, Outcome::NxDomain);
    dns.reset_stats();
    assert_eq!(dns.queries(), 0);
    dns.shutdown().await;
}

#[tokio::test]
async fn answer_delay_is_applied() {
    let dns = start().await;
    let r = resolver(dns.addr());
    dns.add_txt("slow.example.com", "v");
    dns.set_delay(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(txt(&r, "slow.example.com.").await.unwrap(), vec!["v"]);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    dns.set_delay(Duration::ZERO);
    let started = Instant::now();
    txt(&r, "slow.example.com.").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    dns.shutdown().await;
}

#[tokio::test]
async fn servfail_burst_then_recovery() {
    let dns = start().await;
    let r = resolver(dns.addr()); // one query per lookup
    dns.add_txt("flaky.example.com", "v");
    dns.servfail_next(2);
    for _ in 0..2 {
        let err = txt(&r, "flaky.example.com.").await.unwrap_err();
        assert!(
            !err.is_no_records_found(),
            "SERVFAIL is not a negative answer: {err:?}"
        );
        assert!(
            err.to_string().contains("SERVFAIL") || format!("{err:?}").contains("ServFail"),
            "{err:?}"
        );
    }
    assert_eq!(txt(&r, "flaky.example.com.").await.unwrap(), vec!["v"]);
    let stats = dns.stats();
    assert_eq!((stats.servfail, stats.answered, stats.queries), (2, 1, 3));
    dns.shutdown().await;
}

#[tokio::test]
async fn servfail_window_ends_on_time() {
    let dns = start().await;
    dns.add_txt("window.example.com", "v");
    dns.servfail_for(Duration::from_millis(600));
    let raw = raw_udp(dns.addr(), "window.example.com.", RecordType::TXT, false).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::ServFail);
    assert!(dns.faults().servfail_remaining_ms > 0);
    tokio::time::sleep(Duration::from_millis(650)).await;
    let raw = raw_udp(dns.addr(), "window.example.com.", RecordType::TXT, false).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    dns.shutdown().await;
}

#[tokio::test]
async fn dropped_queries_get_no_answer_then_answers_resume() {
    let dns = start().await;
    dns.add_txt("dropped.example.com", "v");

    // Exact count, seen with raw queries: the first gets nothing, the second an answer.
    dns.drop_next(1);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let query = {
        let mut m = hickory_proto::op::Message::query();
        m.add_query(hickory_proto::op::Query::query(
            "dropped.example.com.".parse().unwrap(),
            RecordType::TXT,
        ));
        m.to_vec().unwrap()
    };
    socket.send_to(&query, dns.addr()).await.unwrap();
    let mut buf = [0u8; 512];
    let silent = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await;
    assert!(silent.is_err(), "dropped query must not be answered");
    assert_eq!(dns.stats().dropped, 1);
    assert_eq!(
        raw_udp(dns.addr(), "dropped.example.com.", RecordType::TXT, false)
            .await
            .answers
            .len(),
        1
    );

    // Through the resolver: a lookup times out (it re-sends within its timeout, also dropped).
    let r = resolver(dns.addr());
    dns.drop_next(10);
    let err = txt(&r, "dropped.example.com.").await.unwrap_err();
    assert!(!err.is_no_records_found(), "{err:?}");
    let left = dns.faults().drop_next;
    assert!(
        (7..10).contains(&left),
        "the lookup consumed 1-3 drops, {left} left"
    );
    dns.clear_faults();
    assert_eq!(txt(&r, "dropped.example.com.").await.unwrap(), vec!["v"]);
    dns.shutdown().await;
}

#[tokio::test]
async fn garbage_and_unsupported_queries_are_rejected_not_answered_wrongly() {
    let dns = start().await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A header claiming one question but carrying none: FORMERR with the same id.
    socket
        .send_to(
            &[0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0],
            dns.addr(),
        )
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = hickory_proto::op::Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(answer.metadata.id, 0xbeef);
    assert_eq!(answer.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(dns.stats().rejected, 1);
    dns.shutdown().await;
}

#[tokio::test]
async fn invalid_names_are_reported_by_add() {
    let dns = start().await;
    assert!(dns.add("bad..name", RecordData::Txt("v".into())).is_err());
    dns.add_txt("bad..name", "v"); // logged and ignored
    dns.add_cname("ok.example.com", "bad..target");
    assert!(dns.records().is_empty());
    dns.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_answering() {
    let dns = start().await;
    let addr = dns.addr();
    dns.add_txt("gone.example.com", "v");
    let clone = dns.clone();
    dns.shutdown().await;
    let r = resolver(addr);
    assert!(txt(&r, "gone.example.com.").await.is_err());
    drop(clone);
}

#[tokio::test]
async fn dropping_every_handle_stops_the_server() {
    let dns = start().await;
    let addr = dns.addr();
    drop(dns);
    // The listeners notice the cancellation asynchronously; give them a moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let listener = tokio::net::TcpListener::bind(addr).await;
    assert!(
        listener.is_ok(),
        "TCP port released after the last handle dropped"
    );
}
