//! Verification lookups over real DNS (UDP, TCP on truncation) against `--dns-server`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Why a lookup did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// No nameserver configured.
    #[error("no DNS server configured")]
    NoServer,
    /// Name could not be encoded.
    #[error("bad name {0}")]
    BadName(String),
    /// Socket error.
    #[error("dns i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("dns timeout")]
    Timeout,
    /// Undecodable answer.
    #[error("dns protocol: {0}")]
    Proto(String),
    /// SERVFAIL, REFUSED…
    #[error("dns server answered {0}")]
    Rcode(String),
}

/// One record's value: TXT strings joined, CNAME target without the trailing dot, lower-case.
async fn exchange(server: SocketAddr, msg: &Message, timeout: Duration) -> Result<Message, DnsError> {
    let bytes = msg.to_vec().map_err(|e| DnsError::Proto(e.to_string()))?;
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    sock.send(&bytes).await?;
    let mut buf = vec![0u8; 4096];
    let resp = loop {
        let n = tokio::time::timeout(timeout, sock.recv(&mut buf))
            .await
            .map_err(|_| DnsError::Timeout)??;
        let resp = Message::from_vec(&buf[..n]).map_err(|e| DnsError::Proto(e.to_string()))?;
        // A stray datagram with another id is ignored, like a resolver does.
        if resp.metadata.id == msg.metadata.id {
            break resp;
        }
    };
    if !resp.metadata.truncation {
        return Ok(resp);
    }
    let mut tcp = tokio::time::timeout(timeout, TcpStream::connect(server))
        .await
        .map_err(|_| DnsError::Timeout)??;
    let len = u16::try_from(bytes.len()).map_err(|_| DnsError::Proto("query too long".into()))?;
    tcp.write_all(&len.to_be_bytes()).await?;
    tcp.write_all(&bytes).await?;
    let read = async {
        let n = tcp.read_u16().await?;
        let mut body = vec![0u8; usize::from(n)];
        tcp.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| DnsError::Timeout)??;
    Message::from_vec(&body).map_err(|e| DnsError::Proto(e.to_string()))
}

/// Looks up `name` for `rtype` (TXT or CNAME) and returns the values found (empty on NXDOMAIN).
pub async fn lookup(
    server: Option<SocketAddr>,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Result<Vec<String>, DnsError> {
    let server = server.ok_or(DnsError::NoServer)?;
    let fqdn = Name::from_ascii(format!("{name}.")).map_err(|_| DnsError::BadName(name.to_string()))?;
    let mut msg = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(fqdn, rtype));
    let resp = exchange(server, &msg, timeout).await?;
    match resp.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        other => return Err(DnsError::Rcode(other.to_string())),
    }
    let mut out = Vec::new();
    for rec in &resp.answers {
        match (&rec.data, rtype) {
            (RData::TXT(txt), RecordType::TXT) => {
                let joined: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
                out.push(String::from_utf8_lossy(&joined).into_owned());
            }
            (RData::CNAME(target), RecordType::CNAME) => {
                out.push(target.0.to_ascii().trim_end_matches('.').to_ascii_lowercase());
            }
            _ => {}
        }
    }
    Ok(out)
}
