//! PostgreSQL's streaming-replication protocol, spoken directly.
//!
//! Upstream tokio-postgres has no CopyBoth mode, so the replication connection (`replication=database`) is
//! implemented here on top of `postgres-protocol`'s frontend message codec and SCRAM implementation. The backend
//! side is parsed by hand: only a dozen message types can occur, and parsing them here lets the stream's XLogData
//! payloads be zero-copy slices of one large read buffer.
//!
//! Surprises worth knowing:
//! - A `replication=database` connection accepts both replication commands (`IDENTIFY_SYSTEM`,
//!   `CREATE_REPLICATION_SLOT`, `START_REPLICATION`) and plain SQL, but only through the simple query protocol.
//! - `CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT` exports a snapshot that stays importable only until this
//!   connection runs its next command.
//! - In CopyBoth mode the two directions are independent: the status writer must be able to send while the reader
//!   is not reading (back-pressure), so the connection is split into halves.
//! - A message's length is whatever the server says; it is checked against PostgreSQL's own 1 GiB allocation limit
//!   before any memory is reserved, so a corrupt header is a protocol error rather than a 4 GiB allocation.
//! - `COPY … FROM STDIN` sent through [`ReplicationClient::simple_query`] would leave the server waiting for data
//!   forever; the client answers CopyInResponse with CopyFail so the statement fails and the connection stays usable.
//! - Sessions set `DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=postgres` and `extra_float_digits=3`: the text
//!   form of every value depends on them.
//! - The socket's receive buffer is sized from the handshake's round trip rather than left to autotuning: it decides
//!   how much the walsender pays per row, and stream reads are paced by it ([`window`]).

mod window;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::FutureExt;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;
use sluice_core::Lsn;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

pub use window::ReceiveBuffer;

use crate::pgoutput::POSTGRES_EPOCH_OFFSET_US;
use crate::tls::{client_config, handshake_failed, SslMode};
use crate::{Login, PgError};

/// Session settings every Sluice connection uses: value text forms depend on them.
const SESSION_OPTIONS: &str = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3";
/// How much the stream reader asks the socket for at once.
const READ_CHUNK: usize = 256 * 1024;
/// The most plaintext one TLS record carries.
const TLS_RECORD: usize = 16 * 1024;
/// The largest message length a server can send: PostgreSQL cannot allocate more than 1 GiB for one value
/// (`MaxAllocSize`), plus the framing of a CopyData/XLogData message around it.
const MAX_MESSAGE_LEN: usize = (1 << 30) + 64;

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<std::path::PathBuf>,
    pub application_name: String,
    /// The replication socket's receive buffer.
    pub receive_buffer: ReceiveBuffer,
    /// `database.initial.statements`: run, in order, on every connection but the replication one (as Debezium runs
    /// them on its JDBC connections, never on the one that reads the log).
    pub initial_statements: Vec<String>,
}

impl ConnectOptions {
    /// Whom connections with these options are for, for error messages.
    pub fn login(&self) -> Login {
        Login { host: self.host.clone(), port: self.port, dbname: self.dbname.clone(), user: self.user.clone() }
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// What `IDENTIFY_SYSTEM` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemIdentity {
    pub system_id: String,
    pub timeline: u32,
    pub xlogpos: Lsn,
    pub dbname: Option<String>,
}

/// A slot just created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedSlot {
    pub consistent_point: Lsn,
    pub snapshot_name: Option<String>,
}

/// One backend message, as far as this client cares.
#[derive(Debug)]
enum Backend {
    Auth(Bytes),
    ReadyForQuery,
    Error(PgError),
    Notice(String),
    RowDescription,
    DataRow(Vec<Option<String>>),
    CopyIn,
    CopyBoth,
    CopyData(Bytes),
    CopyDone,
    Ignored,
}

/// Splits one complete message off `buf`, if there is one.
fn parse_message(buf: &mut BytesMut) -> Result<Option<(u8, Bytes)>, PgError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if !(4..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(PgError::Protocol(format!("message {:?} has an impossible length {len}", buf[0] as char)));
    }
    if buf.len() < len + 1 {
        buf.reserve(len + 1 - buf.len());
        return Ok(None);
    }
    let tag = buf[0];
    let mut frame = buf.split_to(len + 1);
    frame.advance(5);
    Ok(Some((tag, frame.freeze())))
}

fn fields(body: &[u8]) -> impl Iterator<Item = (u8, String)> + '_ {
    body.split(|&b| b == 0).filter(|f| !f.is_empty()).map(|f| (f[0], String::from_utf8_lossy(&f[1..]).into_owned()))
}

fn server_error(body: &[u8]) -> PgError {
    let (mut code, mut message, mut detail, mut hint) = (String::new(), String::new(), None, None);
    for (k, v) in fields(body) {
        match k {
            b'C' => code = v,
            b'M' => message = v,
            b'D' => detail = Some(v),
            b'H' => hint = Some(v),
            _ => {}
        }
    }
    PgError::Server { code, message, detail, hint }
}

fn classify(tag: u8, body: Bytes) -> Result<Backend, PgError> {
    Ok(match tag {
        b'R' => Backend::Auth(body),
        b'Z' => Backend::ReadyForQuery,
        b'E' => Backend::Error(server_error(&body)),
        b'N' => Backend::Notice(fields(&body).find(|(k, _)| *k == b'M').map(|(_, v)| v).unwrap_or_default()),
        b'T' => Backend::RowDescription,
        b'D' => {
            let mut b = body;
            if b.len() < 2 {
                return Err(PgError::Protocol("short DataRow".into()));
            }
            let n = b.get_u16() as usize;
            let mut row = Vec::with_capacity(n.min(b.len()));
            for _ in 0..n {
                if b.len() < 4 {
                    return Err(PgError::Protocol("short DataRow".into()));
                }
                let len = b.get_i32();
                if len < 0 {
                    row.push(None);
                } else {
                    let len = len as usize;
                    if b.len() < len {
                        return Err(PgError::Protocol("short DataRow value".into()));
                    }
                    row.push(Some(String::from_utf8_lossy(&b.split_to(len)).into_owned()));
                }
            }
            Backend::DataRow(row)
        }
        b'G' => Backend::CopyIn,
        b'W' => Backend::CopyBoth,
        b'd' => Backend::CopyData(body),
        b'c' => Backend::CopyDone,
        _ => Backend::Ignored,
    })
}

/// A `replication=database` connection in command mode.
pub struct ReplicationClient {
    io: Box<dyn Io>,
    buf: BytesMut,
    login: Login,
    /// Set when Sluice sized the receive buffer; the stream paces its reads by it.
    pacing: Option<window::Pacing>,
    receive_buffer: Option<usize>,
}

impl ReplicationClient {
    /// Connects, negotiates TLS per `sslmode`, and authenticates (trust, password, md5, SCRAM-SHA-256).
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, PgError> {
        let (tcp, round_trip) = connect_tcp(opts).await?;
        tcp.set_nodelay(true)?;
        let socket = socket2::SockRef::from(&tcp);
        let window = opts.receive_buffer.for_round_trip(round_trip);
        if let Some(size) = window {
            socket.set_recv_buffer_size(size)?;
        }
        let receive_buffer = socket.recv_buffer_size().ok();
        tracing::debug!(?round_trip, ?window, receive_buffer, "replication connection established");
        let (io, encrypted) = negotiate_tls(tcp, opts).await?;
        let mut client = ReplicationClient {
            io,
            buf: BytesMut::with_capacity(64 * 1024),
            login: opts.login(),
            pacing: window.map(|w| window::Pacing::new(w, encrypted)),
            receive_buffer,
        };
        let mut out = BytesMut::new();
        let params = [
            ("user", opts.user.as_str()),
            ("database", opts.dbname.as_str()),
            ("replication", "database"),
            ("application_name", opts.application_name.as_str()),
            ("client_encoding", "UTF8"),
            ("options", SESSION_OPTIONS),
        ];
        frontend::startup_message(params.iter().copied(), &mut out)?;
        client.send(&out).await?;
        client.authenticate(opts.password.as_deref()).await?;
        Ok(client)
    }

    /// The receive buffer Sluice asked the kernel for; `None` when it was left to the operating system.
    pub fn window(&self) -> Option<usize> {
        self.pacing.map(|p| p.window)
    }

    /// The socket's receive buffer as the kernel reports it (Linux keeps twice the size asked for, its bookkeeping
    /// included); `None` if it could not be read.
    pub fn receive_buffer(&self) -> Option<usize> {
        self.receive_buffer
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), PgError> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<Backend, PgError> {
        loop {
            if let Some((tag, body)) = parse_message(&mut self.buf)? {
                return classify(tag, body);
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(PgError::Closed);
            }
        }
    }

    async fn authenticate(&mut self, password: Option<&str>) -> Result<(), PgError> {
        let login = self.login.clone();
        let need_password = || PgError::Auth {
            login: login.clone(),
            message: "the server asks for a password, but none is configured (database.password)".into(),
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.recv().await? {
                Backend::Auth(mut body) => {
                    if body.len() < 4 {
                        return Err(PgError::Protocol("short authentication message".into()));
                    }
                    let kind = body.get_u32();
                    let mut out = BytesMut::new();
                    match kind {
                        0 => {}
                        3 => {
                            frontend::password_message(password.ok_or_else(need_password)?.as_bytes(), &mut out)?;
                        }
                        5 => {
                            if body.len() < 4 {
                                return Err(PgError::Protocol("short md5 salt".into()));
                            }
                            let salt = [body[0], body[1], body[2], body[3]];
                            let hash = postgres_protocol::authentication::md5_hash(
                                self.login.user.as_bytes(),
                                password.ok_or_else(need_password)?.as_bytes(),
                                salt,
                            );
                            frontend::password_message(hash.as_bytes(), &mut out)?;
                        }
                        10 => {
                            let offers_scram = body.split(|&b| b == 0).any(|m| m == b"SCRAM-SHA-256");
                            if !offers_scram {
                                return Err(PgError::Auth {
                                    login: self.login.clone(),
                                    message: "the server offers no SASL mechanism Sluice supports (SCRAM-SHA-256)"
                                        .into(),
                                });
                            }
                            let s = ScramSha256::new(
                                password.ok_or_else(need_password)?.as_bytes(),
                                ChannelBinding::unsupported(),
                            );
                            frontend::sasl_initial_response("SCRAM-SHA-256", s.message(), &mut out)?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| PgError::Protocol("SASL continue without SASL start".into()))?;
                            s.update(&body)
                                .map_err(|e| PgError::Auth { login: self.login.clone(), message: e.to_string() })?;
                            frontend::sasl_response(s.message(), &mut out)?;
                        }
                        12 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| PgError::Protocol("SASL final without SASL start".into()))?;
                            s.finish(&body)
                                .map_err(|e| PgError::Auth { login: self.login.clone(), message: e.to_string() })?;
                        }
                        other => {
                            let method = match other {
                                2 => "Kerberos V5",
                                7 | 8 => "GSSAPI",
                                9 => "SSPI",
                                _ => "an unknown method",
                            };
                            return Err(PgError::Auth {
                                login: self.login.clone(),
                                message: format!(
                                    "the server asks for {method} (code {other}); Sluice supports trust, password, md5 \
                                     and scram-sha-256"
                                ),
                            });
                        }
                    }
                    if !out.is_empty() {
                        self.send(&out).await?;
                    }
                }
                Backend::Error(PgError::Server { code, message, .. }) if code == "28P01" || code == "28000" => {
                    return Err(PgError::Auth { login: self.login.clone(), message: format!("{message} ({code})") });
                }
                Backend::Error(e) => return Err(e),
                Backend::ReadyForQuery => return Ok(()),
                _ => {}
            }
        }
    }

    /// Runs one statement (replication command or SQL) with the simple query protocol; returns the rows of the
    /// last result set as text.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out)?;
        self.send(&out).await?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.recv().await? {
                Backend::RowDescription => rows.clear(),
                Backend::DataRow(row) => rows.push(row),
                Backend::Error(e) => error = Some(e),
                Backend::Notice(n) => tracing::info!(notice = %n, "server notice"),
                Backend::CopyIn => {
                    let mut out = BytesMut::new();
                    frontend::copy_fail("simple_query cannot send COPY data", &mut out)?;
                    self.send(&out).await?;
                }
                Backend::ReadyForQuery => break,
                Backend::CopyBoth => return Err(PgError::Protocol("unexpected CopyBoth from a simple query".into())),
                _ => {}
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }

    /// `IDENTIFY_SYSTEM`: the cluster's identity, timeline and current WAL position.
    pub async fn identify_system(&mut self) -> Result<SystemIdentity, PgError> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let mut row =
            rows.into_iter().next().ok_or_else(|| PgError::Protocol("IDENTIFY_SYSTEM returned no row".into()))?;
        row.resize(4, None);
        let bad = |what: &str, v: &Option<String>| PgError::Protocol(format!("IDENTIFY_SYSTEM returned {what} {v:?}"));
        Ok(SystemIdentity {
            timeline: row[1].as_deref().and_then(|t| t.parse().ok()).ok_or_else(|| bad("timeline", &row[1]))?,
            xlogpos: row[2].as_deref().and_then(|l| l.parse().ok()).ok_or_else(|| bad("xlogpos", &row[2]))?,
            dbname: row[3].take(),
            system_id: row[0].take().ok_or_else(|| bad("systemid", &None))?,
        })
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput EXPORT_SNAPSHOT|NOEXPORT_SNAPSHOT`.
    ///
    /// The keyword form is used because it is the only one that works on every supported server: PostgreSQL 10
    /// through 14 know only it, 15 and later still accept it beside the new `(SNAPSHOT 'export')` option list. The
    /// exported snapshot stays importable until this connection runs its next command.
    pub async fn create_logical_slot(
        &mut self,
        name: &str,
        temporary: bool,
        export_snapshot: bool,
    ) -> Result<CreatedSlot, PgError> {
        let sql = format!(
            "CREATE_REPLICATION_SLOT {}{} LOGICAL pgoutput {}",
            quote_ident(name),
            if temporary { " TEMPORARY" } else { "" },
            if export_snapshot { "EXPORT_SNAPSHOT" } else { "NOEXPORT_SNAPSHOT" }
        );
        let rows = self.simple_query(&sql).await?;
        let row = rows
            .into_iter()
            .next()
            .ok_or_else(|| PgError::Protocol("CREATE_REPLICATION_SLOT returned no row".into()))?;
        let consistent_point = row
            .get(1)
            .cloned()
            .flatten()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| PgError::Protocol("CREATE_REPLICATION_SLOT returned no consistent point".into()))?;
        Ok(CreatedSlot { consistent_point, snapshot_name: row.get(2).cloned().flatten() })
    }

    /// `START_REPLICATION SLOT s LOGICAL lsn (options)`; the connection turns into a replication stream.
    pub async fn start_replication(
        mut self,
        slot: &str,
        start: Lsn,
        plugin_options: &[(&str, &str)],
    ) -> Result<ReplicationStream, PgError> {
        let options = plugin_options
            .iter()
            .map(|(k, v)| format!("{} '{}'", quote_ident(k), v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("START_REPLICATION SLOT {} LOGICAL {start} ({options})", quote_ident(slot));
        let mut out = BytesMut::new();
        frontend::query(&sql, &mut out)?;
        self.send(&out).await?;
        loop {
            match self.recv().await? {
                Backend::CopyBoth => break,
                Backend::Error(e) => {
                    // Drain to ReadyForQuery so the error is the server's, not a protocol desync.
                    while !matches!(self.recv().await?, Backend::ReadyForQuery) {}
                    return Err(e);
                }
                Backend::Notice(n) => tracing::info!(notice = %n, "server notice"),
                _ => {}
            }
        }
        let (read, write) = tokio::io::split(self.io);
        let reader = ReplicationReader { read, buf: self.buf, pacing: self.pacing };
        Ok(ReplicationStream { reader, status: StatusSender { write } })
    }
}

async fn negotiate_tls(mut tcp: TcpStream, opts: &ConnectOptions) -> Result<(Box<dyn Io>, bool), PgError> {
    if !opts.sslmode.wants_tls() {
        return Ok((Box::new(tcp), false));
    }
    let mut out = BytesMut::new();
    frontend::ssl_request(&mut out);
    tcp.write_all(&out).await?;
    let answer = tcp.read_u8().await?;
    if answer != b'S' {
        if opts.sslmode.requires_tls() {
            return Err(PgError::Tls(format!(
                "{}:{} refuses TLS, but sslmode is {}; enable ssl on the server or lower database.sslmode",
                opts.host, opts.port, opts.sslmode
            )));
        }
        return Ok((Box::new(tcp), false));
    }
    let config = client_config(opts.sslmode, opts.sslrootcert.as_ref())?;
    let name = rustls::pki_types::ServerName::try_from(opts.host.clone())
        .map_err(|e| PgError::Tls(format!("`{}` is not a valid TLS server name: {e}", opts.host)))?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| handshake_failed(&opts.host, opts.port, opts.sslmode, opts.sslrootcert.as_deref(), &e))?;
    Ok((Box::new(tls), true))
}

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One message of the replication stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationMessage {
    XLogData { wal_start: Lsn, wal_end: Lsn, server_time: i64, data: Bytes },
    Keepalive { wal_end: Lsn, server_time: i64, reply_requested: bool },
}

/// A connection in CopyBoth mode.
pub struct ReplicationStream {
    reader: ReplicationReader,
    status: StatusSender,
}

impl ReplicationStream {
    pub fn split(self) -> (ReplicationReader, StatusSender) {
        (self.reader, self.status)
    }
}

/// The read half: replication messages, read in large chunks.
pub struct ReplicationReader {
    read: ReadHalf<Box<dyn Io>>,
    buf: BytesMut,
    /// Set when Sluice sized the receive buffer ([`window`]).
    pacing: Option<window::Pacing>,
}

impl ReplicationReader {
    /// The next message; `None` when the server ended the stream. Cancel-safe: a cancelled call loses nothing.
    pub async fn next(&mut self) -> Result<Option<ReplicationMessage>, PgError> {
        loop {
            if let Some(message) = self.next_buffered_inner()? {
                return Ok(message);
            }
            if let Some(resume_at) = self.pacing.as_ref().and_then(window::Pacing::resume_at) {
                tokio::time::sleep_until(resume_at.into()).await;
            }
            make_room(&mut self.buf, READ_CHUNK);
            let mut read = self.read.read_buf(&mut self.buf).await?;
            if read == 0 {
                return Err(PgError::Closed);
            }
            if let Some(pacing) = &mut self.pacing {
                // Over TLS, take the records that have already arrived, so pacing judges what is waiting rather
                // than the record size. (On plain TCP one read already takes everything, and reading again would
                // only reopen the window sooner.) An end of stream found here is met again by the next read.
                while pacing.gather_records && read < READ_CHUNK {
                    make_room(&mut self.buf, TLS_RECORD);
                    match self.read.read_buf(&mut self.buf).now_or_never() {
                        Some(Ok(n)) if n > 0 => read += n,
                        Some(Err(e)) => return Err(e.into()),
                        _ => break,
                    }
                }
                pacing.read(read);
            }
        }
    }

    /// The next message if it is already buffered, without reading the socket.
    pub fn next_buffered(&mut self) -> Result<Option<ReplicationMessage>, PgError> {
        Ok(self.next_buffered_inner()?.flatten())
    }

    /// `Some(None)` is the end of the stream.
    fn next_buffered_inner(&mut self) -> Result<Option<Option<ReplicationMessage>>, PgError> {
        loop {
            let Some((tag, body)) = parse_message(&mut self.buf)? else { return Ok(None) };
            match classify(tag, body)? {
                Backend::CopyData(data) => return parse_copy_data(data).map(|m| Some(Some(m))),
                Backend::CopyDone => return Ok(Some(None)),
                Backend::Error(e) => return Err(e),
                Backend::Notice(n) => tracing::info!(notice = %n, "server notice"),
                _ => {}
            }
        }
    }
}

/// Makes room in a stream reader's buffer for a read of `chunk` bytes — unless a message larger than a read is
/// arriving and the buffer already has room for all of it ([`parse_message`] reserved it whole on seeing its
/// length). Growing the buffer for the last read of such a message would copy the whole message once more, for
/// nothing.
fn make_room(buf: &mut BytesMut, chunk: usize) {
    let arriving = match buf.get(1..5) {
        Some(len) => u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize + 1,
        None => 0,
    };
    if arriving <= READ_CHUNK || buf.capacity() < arriving {
        buf.reserve(chunk);
    }
}

fn parse_copy_data(mut data: Bytes) -> Result<ReplicationMessage, PgError> {
    let short = || PgError::Protocol("short replication message".into());
    if data.is_empty() {
        return Err(short());
    }
    match data.get_u8() {
        b'w' => {
            if data.len() < 24 {
                return Err(short());
            }
            let wal_start = Lsn(data.get_u64());
            let wal_end = Lsn(data.get_u64());
            let server_time = data.get_i64();
            Ok(ReplicationMessage::XLogData { wal_start, wal_end, server_time, data })
        }
        b'k' => {
            if data.len() < 17 {
                return Err(short());
            }
            Ok(ReplicationMessage::Keepalive {
                wal_end: Lsn(data.get_u64()),
                server_time: data.get_i64(),
                reply_requested: data.get_u8() == 1,
            })
        }
        other => Err(PgError::Protocol(format!("unknown replication message {:?}", other as char))),
    }
}

/// The write half: standby status updates.
pub struct StatusSender {
    write: WriteHalf<Box<dyn Io>>,
}

impl StatusSender {
    /// Sends a standby status update ('r'): received, flushed and applied positions.
    pub async fn send_status(
        &mut self,
        written: Lsn,
        flushed: Lsn,
        applied: Lsn,
        reply_requested: bool,
    ) -> Result<(), PgError> {
        let now = sluice_core::unix_micros() - POSTGRES_EPOCH_OFFSET_US;
        let mut msg = BytesMut::with_capacity(40);
        msg.extend_from_slice(b"d");
        msg.extend_from_slice(&(4u32 + 34).to_be_bytes());
        msg.extend_from_slice(b"r");
        msg.extend_from_slice(&written.0.to_be_bytes());
        msg.extend_from_slice(&flushed.0.to_be_bytes());
        msg.extend_from_slice(&applied.0.to_be_bytes());
        msg.extend_from_slice(&now.to_be_bytes());
        msg.extend_from_slice(&[u8::from(reply_requested)]);
        self.write.write_all(&msg).await?;
        self.write.flush().await?;
        Ok(())
    }

    /// Ends the stream from our side (CopyDone).
    pub async fn finish(mut self) -> Result<(), PgError> {
        let mut out = BytesMut::new();
        frontend::copy_done(&mut out);
        self.write.write_all(&out).await?;
        self.write.flush().await?;
        Ok(())
    }
}

/// An ordinary SQL connection (snapshot reads, catalogue queries) with the same TLS and session settings. The
/// connection future is spawned on the current runtime, as tokio-postgres requires: the one task this crate
/// starts on the caller's behalf.
pub async fn connect_sql(opts: &ConnectOptions) -> Result<tokio_postgres::Client, PgError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&opts.host)
        .port(opts.port)
        .user(&opts.user)
        .dbname(&opts.dbname)
        .application_name(&opts.application_name)
        .options(SESSION_OPTIONS);
    if let Some(p) = &opts.password {
        config.password(p);
    }
    let connected = if opts.sslmode.wants_tls() {
        config.ssl_mode(if opts.sslmode.requires_tls() {
            tokio_postgres::config::SslMode::Require
        } else {
            tokio_postgres::config::SslMode::Prefer
        });
        let tls =
            tokio_postgres_rustls::MakeRustlsConnect::new(client_config(opts.sslmode, opts.sslrootcert.as_ref())?);
        spawn_connection(config.connect(tls).await)
    } else {
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        spawn_connection(config.connect(tokio_postgres::NoTls).await)
    };
    let client = connected.map_err(|e| connect_error(e, opts))?;
    for (i, statement) in opts.initial_statements.iter().enumerate() {
        client.batch_execute(statement).await.map_err(|source| PgError::InitialStatement { number: i + 1, source })?;
    }
    Ok(client)
}

fn spawn_connection<S, T>(
    connected: Result<(tokio_postgres::Client, tokio_postgres::Connection<S, T>), tokio_postgres::Error>,
) -> Result<tokio_postgres::Client, tokio_postgres::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, conn) = connected?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "SQL connection ended");
        }
    });
    Ok(client)
}

/// Connects to the first address of the host that accepts, timing the TCP handshake: one round trip.
async fn connect_tcp(opts: &ConnectOptions) -> Result<(TcpStream, std::time::Duration), PgError> {
    let failed = |source| PgError::Connect { login: opts.login(), source };
    let mut last = None;
    for addr in tokio::net::lookup_host((opts.host.as_str(), opts.port)).await.map_err(failed)? {
        let started = std::time::Instant::now();
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok((tcp, started.elapsed())),
            Err(e) => last = Some(e),
        }
    }
    Err(failed(
        last.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "the host name resolved to no address")
        }),
    ))
}

/// Gives a failed tokio-postgres connect the same error kinds as [`ReplicationClient::connect`]: authentication
/// failures and TLS handshake failures are definite and say what to check.
fn connect_error(e: tokio_postgres::Error, opts: &ConnectOptions) -> PgError {
    if let Some("28P01" | "28000") = e.code().map(|c| c.code()) {
        return PgError::Auth { login: opts.login(), message: crate::error::describe(&e) };
    }
    // tokio-rustls reports handshake failures as an I/O error wrapping the rustls error.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        let rustls_error = c
            .downcast_ref::<rustls::Error>()
            .or_else(|| c.downcast_ref::<std::io::Error>()?.get_ref()?.downcast_ref::<rustls::Error>());
        if let Some(tls) = rustls_error {
            return handshake_failed(&opts.host, opts.port, opts.sslmode, opts.sslrootcert.as_deref(), tls);
        }
        cause = c.source();
    }
    // Unreachable server, refused or reset connection: name where Sluice tried to connect.
    if e.as_db_error().is_none() {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                return PgError::Connect {
                    login: opts.login(),
                    source: std::io::Error::new(io.kind(), io.to_string()),
                };
            }
            cause = c.source();
        }
    }
    PgError::Sql(e)
}

#[cfg(test)]
mod tests;
