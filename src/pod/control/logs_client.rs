//! The client end of `podinit logs`: one `logs` request, a header reply
//! line, then the log bytes until podinit closes the connection (at once, or
//! when a followed entry ends).

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::client::{connect, read_line, send_line};
use super::*;
use crate::pod::protocol::Query;

/// How long podinit may take to answer the header (it answers at once).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `q` and copies the log bytes to `out`. Returns the header reply
/// (`ok == false`: nothing was copied; the message says why). A reader that
/// goes away (`out` fails, e.g. `| head`) ends the copy quietly: dropping the
/// connection is how podinit learns the reader quit.
pub(crate) fn logs(state_dir: &Path, q: &Query, out: &mut dyn Write) -> Result<Reply, ControlError> {
    let path = socket_path(state_dir);
    check_len(&path)?;
    if !check_kind(&path)? {
        return Err(ControlError::NotRunning { path, stale: false });
    }
    let stream = connect(&path, HEADER_TIMEOUT)?;
    let mut line = encode_logs(q);
    line.push(b'\n');
    send_line(&stream, &line, &path, HEADER_TIMEOUT)?;
    let mut buf = Vec::with_capacity(4096);
    let header_end = read_line(&stream, &mut buf, &path, Instant::now() + HEADER_TIMEOUT, HEADER_TIMEOUT)?;
    let io_err = |op, e: io::Error, path: &Path| ControlError::Io { op, path: path.to_path_buf(), source: e };
    let mut chunk = vec![0u8; 65536];
    let reply =
        parse_reply(&buf[..header_end]).map_err(|message| ControlError::Protocol { path: path.clone(), message })?;
    if !reply.ok {
        return Ok(reply);
    }
    // The body has no deadline: `-f` waits as long as the entry runs.
    stream.set_read_timeout(None).map_err(|e| io_err("read from", e, &path))?;
    if out.write_all(&buf[header_end + 1..]).is_err() {
        return Ok(reply);
    }
    loop {
        match (&stream).read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if out.write_all(&chunk[..n]).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err("read from", e, &path)),
        }
    }
    let _ = out.flush();
    Ok(reply)
}
