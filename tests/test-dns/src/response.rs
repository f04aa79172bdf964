//! Turns one query packet into the reply the server sends (or does not send).

use std::time::Duration;

use hickory_proto::{
    op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode},
    rr::{
        DNSClass, Name, RData, Record, RecordType,
        rdata::{A, AAAA, CNAME, SOA, TXT},
    },
};
use tracing::{debug, warn};

use crate::{
    faults::Verdict,
    records::{RecordData, RecordKind, Store, key_of},
    state::Shared,
    stats::{LoggedQuery, Outcome, Transport},
};

/// Longest CNAME chain followed inside the held records; also stops loops.
const MAX_CNAME_HOPS: usize = 8;
/// UDP payload we advertise in our own EDNS record (the DNS flag day 2020 value).
const OUR_UDP_PAYLOAD: u16 = 1232;
/// Classic DNS limit for UDP answers without EDNS.
const PLAIN_UDP_LIMIT: usize = 512;

/// What to send back for one packet.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Nothing (a dropped query, or a packet that was not a query).
    Silent,
    /// These bytes, after this delay.
    Send { bytes: Vec<u8>, delay: Duration },
}

/// Handles one DNS message received on `transport`, recording it in the counters.
pub(crate) fn handle(shared: &Shared, packet: &[u8], transport: Transport) -> Reply {
    let request = match Message::from_vec(packet) {
        Ok(message) => message,
        Err(error) => return malformed(shared, packet, transport, &error.to_string()),
    };
    if request.metadata.message_type != MessageType::Query {
        return Reply::Silent;
    }
    let question = match request.queries.as_slice() {
        [one] => one.clone(),
        _ => {
            let name = request
                .queries
                .first()
                .map(|q| key_of(q.name()))
                .unwrap_or_default();
            shared
                .stats
                .record(logged(name, "", transport, Outcome::Rejected));
            return send(
                reject(&request, ResponseCode::FormErr),
                &request,
                transport,
                Duration::ZERO,
            );
        }
    };
    let key = key_of(question.name());
    let qtype = question.query_type();
    let qtype_text = qtype.to_string();

    if request.metadata.op_code != OpCode::Query {
        shared
            .stats
            .record(logged(key, &qtype_text, transport, Outcome::Rejected));
        return send(
            reject(&request, ResponseCode::NotImp),
            &request,
            transport,
            Duration::ZERO,
        );
    }

    let (verdict, delay) = shared.faults.decide();
    let (response, outcome) = match verdict {
        Verdict::Drop => {
            debug!(name = %key, qtype = %qtype_text, "dropping query (injected)");
            shared
                .stats
                .record(logged(key, &qtype_text, transport, Outcome::Dropped));
            return Reply::Silent;
        }
        Verdict::ServFail => (reject(&request, ResponseCode::ServFail), Outcome::ServFail),
        Verdict::Answer if !matches!(question.query_class(), DNSClass::IN | DNSClass::ANY) => {
            (reject(&request, ResponseCode::Refused), Outcome::Rejected)
        }
        Verdict::Answer => answer(shared, &request, &question, &key),
    };
    debug!(name = %key, qtype = %qtype_text, ?outcome, ?transport, "query");
    shared.stats.record(logged(key, &qtype_text, transport, outcome));
    send(response, &request, transport, delay)
}

/// Builds the authoritative answer from the held records.
fn answer(shared: &Shared, request: &Message, question: &Query, key: &str) -> (Message, Outcome) {
    let ttl = shared.ttl_secs();
    let store = shared.read();
    let mut response = base_response(request);
    response.metadata.authoritative = true;
    let outcome = match resolve(&store, question, key, ttl) {
        Resolved::NxDomain => {
            response.metadata.response_code = ResponseCode::NXDomain;
            response.authorities.push(soa(store.generation(), ttl));
            Outcome::NxDomain
        }
        Resolved::Records(records) if records.is_empty() => {
            response.authorities.push(soa(store.generation(), ttl));
            Outcome::NoData
        }
        Resolved::Records(records) => {
            response.answers = records;
            Outcome::Answer
        }
    };
    (response, outcome)
}

enum Resolved {
    NxDomain,
    Records(Vec<Record>),
}

/// Looks the question up, following CNAMEs through the held records.
///
/// A CNAME whose target the server does not hold ends the chain with NOERROR, as an
/// authoritative server for the alias's zone (but not the target's) would answer.
fn resolve(store: &Store, question: &Query, key: &str, ttl: u32) -> Resolved {
    let qtype = question.query_type();
    let mut owner = question.name().clone();
    let mut current = key.to_string();
    let mut records = Vec::new();
    for hop in 0..MAX_CNAME_HOPS {
        let Some(entries) = store.get(&current) else {
            return if hop == 0 {
                Resolved::NxDomain
            } else {
                Resolved::Records(records)
            };
        };
        let cname = entries.iter().find_map(|s| match &s.data {
            RecordData::Cname(target) => Some(target.clone()),
            _ => None,
        });
        match cname {
            Some(target) if !matches!(qtype, RecordType::CNAME | RecordType::ANY) => {
                let Ok(target_name) = fqdn(&target) else {
                    warn!(%target, "held CNAME target is not a valid name");
                    break;
                };
                records.push(Record::from_rdata(
                    owner,
                    ttl,
                    RData::CNAME(CNAME(target_name.clone())),
                ));
                owner = target_name;
                current = target;
            }
            _ => {
                records.extend(
                    entries
                        .iter()
                        .filter(|s| qtype == RecordType::ANY || wire_type(s.data.kind()) == qtype)
                        .filter_map(|s| rdata(&s.data))
                        .map(|data| Record::from_rdata(owner.clone(), ttl, data)),
                );
                break;
            }
        }
    }
    Resolved::Records(records)
}

fn wire_type(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Txt => RecordType::TXT,
    }
}

fn rdata(data: &RecordData) -> Option<RData> {
    Some(match data {
        RecordData::A(ip) => RData::A(A(*ip)),
        RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RecordData::Cname(target) => RData::CNAME(CNAME(fqdn(target).ok()?)),
        RecordData::Txt(text) => RData::TXT(TXT::new(character_strings(text))),
    })
}

/// Splits text into character-strings of at most 255 bytes, never inside a UTF-8 sequence.
fn character_strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if current.len() + ch.len_utf8() > 255 {
            out.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

fn fqdn(key: &str) -> Result<Name, hickory_proto::ProtoError> {
    let mut name = Name::from_ascii(key)?;
    name.set_fqdn(true);
    Ok(name)
}

/// The SOA sent with negative answers, so resolvers cache NXDOMAIN/NODATA only for `ttl`.
///
/// The server is authoritative for every name it holds, in no particular zone, so the SOA
/// sits at the root; its serial changes with every record change.
fn soa(serial: u32, ttl: u32) -> Record {
    let mname = fqdn("ns.test-dns.invalid").unwrap_or_else(|_| Name::root());
    let rname = fqdn("hostmaster.test-dns.invalid").unwrap_or_else(|_| Name::root());
    let ttl_i32 = i32::try_from(ttl).unwrap_or(i32::MAX);
    Record::from_rdata(
        Name::root(),
        ttl,
        RData::SOA(SOA::new(
            mname,
            rname,
            serial,
            ttl_i32,
            ttl_i32,
            ttl_i32.saturating_mul(10),
            ttl,
        )),
    )
}

fn base_response(request: &Message) -> Message {
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata = Metadata::response_from_request(&request.metadata);
    response.queries = request.queries.clone();
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(OUR_UDP_PAYLOAD);
        response.edns = Some(edns);
    }
    response
}

fn reject(request: &Message, code: ResponseCode) -> Message {
    let mut response = base_response(request);
    response.metadata.response_code = code;
    response
}

/// Answers a packet that did not parse: FORMERR with its id if it looks like a query.
fn malformed(shared: &Shared, packet: &[u8], transport: Transport, error: &str) -> Reply {
    // Header: id (2 bytes), then flags whose top bit is QR (1 = response).
    let (Some(id), Some(flags)) = (packet.get(0..2), packet.get(2)) else {
        return Reply::Silent;
    };
    if flags & 0x80 != 0 {
        return Reply::Silent;
    }
    debug!(%error, "malformed query");
    shared
        .stats
        .record(logged(String::new(), "", transport, Outcome::Rejected));
    let response = Message::error_msg(
        u16::from_be_bytes([id[0], id[1]]),
        OpCode::Query,
        ResponseCode::FormErr,
    );
    match response.to_vec() {
        Ok(bytes) => Reply::Send {
            bytes,
            delay: Duration::ZERO,
        },
        Err(_) => Reply::Silent,
    }
}

/// Encodes `response`, truncating (TC bit, no records) when it exceeds the UDP size limit.
fn send(mut response: Message, request: &Message, transport: Transport, delay: Duration) -> Reply {
    let limit = match transport {
        Transport::Tcp => usize::from(u16::MAX),
        Transport::Udp => request
            .edns
            .as_ref()
            .map(|e| usize::from(e.max_payload()).clamp(PLAIN_UDP_LIMIT, 4096))
            .unwrap_or(PLAIN_UDP_LIMIT),
    };
    let mut encoded = response.to_vec();
    if matches!(&encoded, Ok(bytes) if bytes.len() > limit) {
        response.answers.clear();
        response.authorities.clear();
        response.additionals.clear();
        response.metadata.truncation = true;
        encoded = response.to_vec();
    }
    match encoded {
        Ok(bytes) => Reply::Send { bytes, delay },
        Err(error) => {
            warn!(%error, "cannot encode response; answering SERVFAIL");
            match reject(request, ResponseCode::ServFail).to_vec() {
                Ok(bytes) => Reply::Send { bytes, delay },
                Err(_) => Reply::Silent,
            }
        }
    }
}

fn logged(name: String, qtype: &str, transport: Transport, outcome: Outcome) -> LoggedQuery {
    LoggedQuery {
        name,
        qtype: qtype.to_string(),
        transport,
        outcome,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_255_bytes_on_char_boundaries() {
        assert_eq!(character_strings(""), vec![String::new()]);
        let long = "é".repeat(200); // 400 bytes
        let parts = character_strings(&long);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), long);
    }
}
