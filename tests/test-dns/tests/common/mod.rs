//! Helpers shared by the integration tests: a real resolver pointed at the server, and raw
//! UDP/TCP queries for asserting header bits the resolver hides.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, time::Duration};

use hickory_proto::{
    op::{Edns, Message, Query},
    rr::{Name, RData, RecordType},
};
use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
};
use test_dns::TestDns;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
};

/// Starts a server on an ephemeral loopback port.
pub async fn start() -> TestDns {
    TestDns::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// A hickory resolver whose only nameserver is `addr`, with caching disabled, no retries and
/// a short timeout (so injected drops show up quickly).
///
/// Measured with hickory-resolver 0.26.3: `attempts` counts *retries* (default 2, so a SERVFAIL
/// costs 3 queries per lookup); `attempts = 0` sends one query per lookup. Within `timeout`
/// the UDP client also re-sends an unanswered query every 333 ms (at most 3 sends).
pub fn resolver(addr: SocketAddr) -> TokioResolver {
    resolver_with(addr, NameServerConfig::udp_and_tcp(addr.ip()))
}

/// Like [`resolver`] but TCP only.
pub fn tcp_resolver(addr: SocketAddr) -> TokioResolver {
    resolver_with(addr, NameServerConfig::tcp(addr.ip()))
}

fn resolver_with(addr: SocketAddr, mut server: NameServerConfig) -> TokioResolver {
    for connection in &mut server.connections {
        connection.port = addr.port();
    }
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![server]),
        TokioRuntimeProvider::default(),
    );
    let options = builder.options_mut();
    options.cache_size = 0;
    options.positive_max_ttl = Some(Duration::ZERO);
    options.negative_max_ttl = Some(Duration::ZERO);
    options.attempts = 0;
    options.timeout = Duration::from_millis(400);
    builder.build().unwrap()
}

/// TXT values at `name` as strings (character-strings of one record joined).
pub async fn txt(
    resolver: &TokioResolver,
    name: &str,
) -> Result<Vec<String>, hickory_resolver::net::NetError> {
    let lookup = resolver.txt_lookup(name).await?;
    let mut values: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    values.sort();
    Ok(values)
}

fn query_message(name: &str, qtype: RecordType, edns: bool) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    message.metadata.recursion_desired = true;
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        message.edns = Some(e);
    }
    message
}

/// One raw query over UDP, answer decoded (panics after 2 s without answer).
pub async fn raw_udp(addr: SocketAddr, name: &str, qtype: RecordType, edns: bool) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let request = query_message(name, qtype, edns);
    socket.send_to(&request.to_vec().unwrap(), addr).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("UDP answer within 2 s")
        .unwrap();
    let response = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(
        response.metadata.id, request.metadata.id,
        "answer id matches query id"
    );
    response
}

/// One raw query over TCP on a fresh connection.
pub async fn raw_tcp(addr: SocketAddr, name: &str, qtype: RecordType) -> Message {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = query_message(name, qtype, false).to_vec().unwrap();
    let mut framed = (request.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&request);
    stream.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut len))
        .await
        .expect("TCP answer within 2 s")
        .unwrap();
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut body).await.unwrap();
    Message::from_vec(&body).unwrap()
}
