//! The synapse-admin CSV user format: parsing and validating bulk-import files, and writing export and failed-row files.
//!
//! Pure: no I/O except writing to a caller-supplied [`std::io::Write`], no network, no clock.
//!
//! The format is the one synapse-admin imports, so files admins already have work unchanged:
//!
//! ```text
//! id,displayname,password,is_guest,admin,deactivated
//! jane.doe,Jane Doe,secretpassword,false,false,false
//! ```
//!
//! * [`parse_users_csv`] turns a whole uploaded file into validated [`ImportRow`]s plus per-row
//!   [`RowError`]s; a problem with the file as a whole is one [`FileError`].
//! * [`write_users_csv`] writes an export (same format, `id` as the full MXID, passwords empty);
//!   the parser reads it back unchanged.
//! * [`write_failed_rows`] writes rows back in the input's own header and delimiter, ready to fix
//!   and re-import.
//!
//! Files written here are meant for re-import, not for spreadsheets: cells are written verbatim
//! (IDs legitimately start with `@`), with no formula-injection escaping. Opening them in a
//! spreadsheet application is at the user's own risk.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;

use serde::Serialize;

use crate::text::{self, is_hidden};

/// Longest display name Synapse accepts, in characters.
pub(crate) const MAX_DISPLAYNAME_CHARS: usize = 256;
/// Longest password Synapse accepts, in bytes.
pub(crate) const MAX_PASSWORD_BYTES: usize = 512;
/// Longest cell of any column, in bytes.
pub(crate) const MAX_CELL_BYTES: usize = 1024;
/// Longest full user ID (`@localpart:server`), in bytes (Matrix spec).
pub(crate) const MAX_USER_ID_BYTES: usize = 255;
/// Longest echo of user input in an error message, in characters.
const ECHO_CHARS: usize = 60;

/// Columns the format knows, lower-case, in the order exports write them.
pub(crate) const EXPORT_HEADER: [&str; 9] = [
    "id",
    "displayname",
    "password",
    "is_guest",
    "admin",
    "deactivated",
    "avatar_url",
    "user_type",
    "threepids",
];

/// A password from the file. Its `Debug` never shows the secret; use [`Password::expose`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Password(String);

impl Password {
    /// Wraps a password.
    pub(crate) fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that sends it to Synapse.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Medium of a third-party identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Medium {
    Email,
    Msisdn,
}

impl Medium {
    /// The medium as Synapse spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Medium::Email => "email",
            Medium::Msisdn => "msisdn",
        }
    }
}

/// A third-party identifier; serialises as Synapse's admin API expects (`{"medium", "address"}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct Threepid {
    pub medium: Medium,
    /// E-mail as written; MSISDN as digits only (a leading `+` is dropped, as Synapse stores it).
    pub address: String,
}

/// Which fields a row gives, so an update changes only those.
///
/// A column missing from the header never gives its field. `displayname` and `password` are
/// given only by a non-empty cell (an empty password never resets one), and so are `threepids`
/// (an empty cell is "not given", never "remove them all": an export without them must not erase
/// them on import). The booleans, `avatar_url` and `user_type` are given whenever their column
/// exists: an empty cell there means false / none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PresentColumns {
    pub displayname: bool,
    pub password: bool,
    pub admin: bool,
    pub deactivated: bool,
    pub avatar_url: bool,
    pub user_type: bool,
    pub threepids: bool,
}

/// One valid row of an import file.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ImportRow {
    /// 1-based line where the record starts in the file (the header is line 1).
    pub line: u64,
    /// Full MXID, `@localpart:server`.
    pub user_id: String,
    pub localpart: String,
    /// Verbatim (not trimmed); `None` when the cell is empty or blank.
    pub displayname: Option<String>,
    /// Verbatim; `None` when the cell is empty.
    pub password: Option<Password>,
    pub admin: bool,
    pub deactivated: bool,
    pub avatar_url: Option<String>,
    /// `bot` or `support`.
    pub user_type: Option<String>,
    pub threepids: Vec<Threepid>,
    pub present: PresentColumns,
    /// The original cells in header order, for [`write_failed_rows`]. May contain the password,
    /// so `Debug` shows only the count.
    pub raw: Vec<String>,
}

impl fmt::Debug for ImportRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportRow")
            .field("line", &self.line)
            .field("user_id", &self.user_id)
            .field("localpart", &self.localpart)
            .field("displayname", &self.displayname)
            .field("password", &self.password)
            .field("admin", &self.admin)
            .field("deactivated", &self.deactivated)
            .field("avatar_url", &self.avatar_url)
            .field("user_type", &self.user_type)
            .field("threepids", &self.threepids)
            .field("present", &self.present)
            .field("raw", &RedactedCells(self.raw.len()))
            .finish()
    }
}

/// A row that cannot be imported.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RowError {
    /// 1-based line where the record starts in the file.
    pub line: u64,
    /// The full MXID if the `id` cell was valid, else the cell made safe to echo
    /// (control and bidi characters stripped, truncated); `None` if the cell was empty.
    pub id: Option<String>,
    /// Every problem found in the row, joined with `; `. One line; input echoed safely.
    pub reason: String,
    /// The original cells, for [`write_failed_rows`]. `Debug` shows only the count.
    pub raw: Vec<String>,
}

impl fmt::Debug for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowError")
            .field("line", &self.line)
            .field("id", &self.id)
            .field("reason", &self.reason)
            .field("raw", &RedactedCells(self.raw.len()))
            .finish()
    }
}

struct RedactedCells(usize);

impl fmt::Debug for RedactedCells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} cells, redacted>", self.0)
    }
}

/// A parsed import file. `rows` and `errors` are each in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedFile {
    /// Header cells exactly as in the file (BOM removed).
    pub header: Vec<String>,
    /// `b','` or `b';'`.
    pub delimiter: u8,
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
    /// Header names the format does not know, as written; their cells are ignored.
    pub unknown_columns: Vec<String>,
}

/// Why a whole file is rejected. Messages are one line and echo input only sanitised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a text file")]
    NotText,
    #[error("this is a ZIP or spreadsheet (xlsx/ods) file, not CSV; export it as CSV (UTF-8)")]
    Spreadsheet,
    #[error("the file is not UTF-8 text; save it as CSV (UTF-8)")]
    NotUtf8,
    #[error("this file has no `id` column (first line: {first_line})")]
    NoIdColumn { first_line: String },
    #[error("column `{name}` appears more than once in the header")]
    DuplicateColumn { name: String },
    #[error("the file has more than {max} rows")]
    TooManyRows { max: usize },
    #[error("cannot read the file as CSV near line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// Parses a synapse-admin user CSV for creating or updating users on `server_name`.
///
/// Accepts UTF-8 with or without BOM, LF or CRLF, `,` or `;` (detected from the header).
/// Rows made only of empty cells are skipped. More than `max_rows` data rows is a file error.
pub(crate) fn parse_users_csv(
    bytes: &[u8],
    server_name: &str,
    max_rows: usize,
) -> Result<ParsedFile, FileError> {
    let text = decode(bytes)?;
    let delimiter = detect_delimiter(text);
    let mut reader = reader(text, delimiter);
    let mut record = csv::StringRecord::new();

    // decode() rejected blank files, so csv (which skips empty lines) yields a first record.
    let has_header = read(&mut reader, &mut record)?;
    if !has_header {
        return Err(FileError::Empty);
    }
    let header: Vec<String> = record.iter().map(str::to_owned).collect();
    let layout = Layout::from_header(&header, text)?;

    let mut parsed = ParsedFile {
        header,
        delimiter,
        rows: Vec::new(),
        errors: Vec::new(),
        unknown_columns: layout.unknown.clone(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = LineCounter::new(text);
    let mut count = 0usize;
    while read(&mut reader, &mut record)? {
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        count += 1;
        if count > max_rows {
            return Err(FileError::TooManyRows { max: max_rows });
        }
        let line = record.position().map_or(0, |p| lines.record_line(p.byte()));
        match layout.parse_row(line, cells, server_name, &mut seen) {
            Ok(row) => parsed.rows.push(row),
            Err(err) => parsed.errors.push(err),
        }
    }
    Ok(parsed)
}

/// A user as exported: every field the format carries except the password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExportUser {
    /// Full MXID.
    pub user_id: String,
    pub displayname: Option<String>,
    pub is_guest: bool,
    pub admin: bool,
    pub deactivated: bool,
    pub avatar_url: Option<String>,
    pub user_type: Option<String>,
    pub threepids: Vec<Threepid>,
}

/// Writes an export: header [`EXPORT_HEADER`], comma-delimited, LF line ends, `id` as the full
/// MXID, `password` always empty, booleans `true`/`false`, threepids `medium:address,…`.
///
/// For re-import, not for spreadsheets: cells are written verbatim (no formula escaping).
pub(crate) fn write_users_csv<I>(users: I, w: impl Write) -> csv::Result<()>
where
    I: IntoIterator,
    I::Item: Borrow<ExportUser>,
{
    let mut out = csv::WriterBuilder::new().from_writer(w);
    out.write_record(EXPORT_HEADER)?;
    for user in users {
        let u = user.borrow();
        let threepids = u
            .threepids
            .iter()
            .map(|t| format!("{}:{}", t.medium.as_str(), t.address))
            .collect::<Vec<_>>()
            .join(",");
        out.write_record([
            u.user_id.as_str(),
            u.displayname.as_deref().unwrap_or(""),
            "",
            bool_cell(u.is_guest),
            bool_cell(u.admin),
            bool_cell(u.deactivated),
            u.avatar_url.as_deref().unwrap_or(""),
            u.user_type.as_deref().unwrap_or(""),
            threepids.as_str(),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// Writes rows back in their input format (the file's own header and delimiter), e.g. the
/// [`ImportRow::raw`] / [`RowError::raw`] of rows that failed, ready to fix and re-import.
/// Rows are written as given, even with a wrong number of cells.
///
/// The output contains whatever the input had, passwords included. For re-import, not for
/// spreadsheets: cells are written verbatim (no formula escaping).
pub(crate) fn write_failed_rows<I>(
    header: &[String],
    rows: I,
    delimiter: u8,
    w: impl Write,
) -> csv::Result<()>
where
    I: IntoIterator,
    I::Item: AsRef<[String]>,
{
    let mut out = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(w);
    out.write_record(header)?;
    for row in rows {
        out.write_record(row.as_ref())?;
    }
    out.flush()?;
    Ok(())
}

fn bool_cell(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Checks the bytes are non-empty UTF-8 text and strips a BOM.
fn decode(bytes: &[u8]) -> Result<&str, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(FileError::Spreadsheet);
    }
    // UTF-16 text is full of NULs; name the real problem.
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::NotUtf8);
    }
    if bytes.contains(&0) {
        return Err(FileError::NotText);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    Ok(text)
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// Reads one record; `Ok(false)` at the end.
fn read(
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
) -> Result<bool, FileError> {
    reader
        .read_record(record)
        .map_err(|e| FileError::Malformed {
            line: e.position().map_or(0, csv::Position::line),
            message: echo(&e.to_string()),
        })
}

/// 1-based line numbers where records start.
///
/// csv's own `Position::line` is where the reader stood before the record, i.e. before any
/// blank lines and, after a CRLF record, before its LF; so its byte offset is taken instead,
/// moved past line breaks, and lines counted up to there (CRLF, LF or a lone CR end a line).
struct LineCounter<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    /// The line of the record whose scan started at byte `start`; calls must not go backwards.
    fn record_line(&mut self, start: u64) -> u64 {
        let mut target = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while matches!(self.text.get(target), Some(b'\r' | b'\n')) {
            target += 1;
        }
        let from = self.pos.min(target);
        let scanned = self.text.get(from..target).unwrap_or_default();
        for (i, &b) in scanned.iter().enumerate() {
            let lone_cr = b == b'\r' && self.text.get(from + i + 1) != Some(&b'\n');
            if b == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.pos = self.pos.max(target);
        self.line
    }
}

/// `,` unless the first record has more `;` than `,` outside quotes and splitting on `;`
/// yields an `id` column; also `;` when only `;` yields an `id` column.
fn detect_delimiter(text: &str) -> u8 {
    let (mut commas, mut semis, mut quoted) = (0usize, 0usize, false);
    for c in text.trim_start_matches(['\r', '\n']).chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semis += 1,
            _ => {}
        }
    }
    let has_id = |d: u8| {
        let mut r = reader(text, d);
        let mut rec = csv::StringRecord::new();
        matches!(r.read_record(&mut rec), Ok(true))
            && rec.iter().any(|h| h.trim().eq_ignore_ascii_case("id"))
    };
    match (semis > commas, has_id(b','), has_id(b';')) {
        (true, _, true) | (false, false, true) => b';',
        _ => b',',
    }
}

/// Column positions of one file.
struct Layout {
    /// Header names, trimmed, for messages.
    names: Vec<String>,
    width: usize,
    id: usize,
    displayname: Option<usize>,
    password: Option<usize>,
    is_guest: Option<usize>,
    admin: Option<usize>,
    deactivated: Option<usize>,
    avatar_url: Option<usize>,
    user_type: Option<usize>,
    threepids: Option<usize>,
    unknown: Vec<String>,
}

impl Layout {
    fn from_header(header: &[String], text: &str) -> Result<Self, FileError> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut unknown = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let name = raw.trim().to_lowercase();
            if name.is_empty() {
                continue; // a trailing delimiter in the header: ignore the blank column
            }
            if index.insert(name.clone(), i).is_some() {
                return Err(FileError::DuplicateColumn {
                    name: echo(raw.trim()),
                });
            }
            if !EXPORT_HEADER.contains(&name.as_str()) {
                unknown.push(raw.trim().to_owned());
            }
        }
        let Some(&id) = index.get("id") else {
            let first = text.trim_start_matches(['\r', '\n']);
            let first = first.split(['\r', '\n']).next().unwrap_or_default();
            return Err(FileError::NoIdColumn {
                first_line: echo(first),
            });
        };
        let col = |name: &str| index.get(name).copied();
        Ok(Self {
            names: header.iter().map(|h| h.trim().to_owned()).collect(),
            width: header.len(),
            id,
            displayname: col("displayname"),
            password: col("password"),
            is_guest: col("is_guest"),
            admin: col("admin"),
            deactivated: col("deactivated"),
            avatar_url: col("avatar_url"),
            user_type: col("user_type"),
            threepids: col("threepids"),
            unknown,
        })
    }

    /// Column `i`'s header name as written, for messages.
    fn column_name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) if !n.is_empty() => echo(n),
            _ => format!("column {}", i + 1),
        }
    }

    fn parse_row(
        &self,
        line: u64,
        raw: Vec<String>,
        server_name: &str,
        seen: &mut HashMap<String, u64>,
    ) -> Result<ImportRow, RowError> {
        let id_cell = raw.get(self.id).map(|s| s.trim()).unwrap_or_default();
        let echoed_id = (!id_cell.is_empty()).then(|| echo(id_cell));
        if raw.len() != self.width {
            return Err(RowError {
                line,
                id: echoed_id,
                reason: format!("expected {} fields, found {}", self.width, raw.len()),
                raw,
            });
        }

        let mut reasons = Vec::new();
        let mut too_long = vec![false; raw.len()];
        for (i, cell) in raw.iter().enumerate() {
            if cell.len() > MAX_CELL_BYTES {
                too_long[i] = true;
                let name = self.column_name(i);
                reasons.push(format!(
                    "`{name}` is too long ({} bytes, max {MAX_CELL_BYTES})",
                    cell.len()
                ));
            }
        }
        // A cell of a column, unless missing or already reported as too long.
        let cell = |col: Option<usize>| -> Option<&str> {
            let i = col?;
            if too_long.get(i).copied().unwrap_or(true) {
                None
            } else {
                raw.get(i).map(String::as_str)
            }
        };

        let mut user = None;
        match cell(Some(self.id)) {
            None => {}
            Some(c) => match parse_user_id(c.trim(), server_name) {
                Ok((user_id, localpart)) => {
                    if let Some(first) = seen.get(&user_id) {
                        reasons.push(format!("duplicate of {user_id} on line {first}"));
                    } else {
                        seen.insert(user_id.clone(), line);
                    }
                    user = Some((user_id, localpart));
                }
                Err(reason) => reasons.push(reason),
            },
        }

        let displayname = cell(self.displayname)
            .filter(|d| !d.trim().is_empty())
            .map(str::to_owned);
        if let Some(d) = &displayname {
            let n = d.chars().count();
            if n > MAX_DISPLAYNAME_CHARS {
                reasons.push(format!(
                    "`displayname` is too long ({n} characters, max {MAX_DISPLAYNAME_CHARS})"
                ));
            }
        }
        let password = cell(self.password).filter(|p| !p.is_empty());
        if let Some(p) = password
            && p.len() > MAX_PASSWORD_BYTES
        {
            reasons.push(format!(
                "`password` is too long ({} bytes, max {MAX_PASSWORD_BYTES})",
                p.len()
            ));
        }

        let mut flag = |name: &str, col: Option<usize>| match cell(col).map(parse_bool) {
            None | Some(Ok(false)) => false,
            Some(Ok(true)) => true,
            Some(Err(v)) => {
                reasons.push(format!(
                    "`{name}`: `{}` is not a boolean (use true/false)",
                    echo(v)
                ));
                false
            }
        };
        let is_guest = flag("is_guest", self.is_guest);
        let admin = flag("admin", self.admin);
        let deactivated = flag("deactivated", self.deactivated);
        if is_guest {
            // `PUT /_synapse/admin/v2/users` takes no `is_guest`: such a row would silently
            // become a full account.
            reasons.push(
                "`is_guest`: Synapse's Admin API cannot create guest accounts; leave it false or empty"
                    .to_owned(),
            );
        }

        let avatar_url = match cell(self.avatar_url).map(str::trim) {
            None | Some("") => None,
            Some(url) if is_mxc(url) => Some(url.to_owned()),
            Some(url) => {
                reasons.push(format!(
                    "`avatar_url`: `{}` is not an mxc:// URL",
                    echo(url)
                ));
                None
            }
        };
        let user_type = match cell(self.user_type).map(str::trim) {
            None | Some("") => None,
            Some(t) if t.eq_ignore_ascii_case("bot") => Some("bot".to_owned()),
            Some(t) if t.eq_ignore_ascii_case("support") => Some("support".to_owned()),
            Some(t) => {
                reasons.push(format!(
                    "`user_type`: `{}` is not a known type (bot, support, or empty)",
                    echo(t)
                ));
                None
            }
        };
        let threepids = match cell(self.threepids).map(parse_threepids) {
            None => Vec::new(),
            Some(Ok(t)) => t,
            Some(Err(reason)) => {
                reasons.push(reason);
                Vec::new()
            }
        };

        let present = PresentColumns {
            displayname: displayname.is_some(),
            password: password.is_some(),
            admin: self.admin.is_some(),
            deactivated: self.deactivated.is_some(),
            avatar_url: self.avatar_url.is_some(),
            user_type: self.user_type.is_some(),
            threepids: cell(self.threepids).is_some_and(|c| !c.trim().is_empty()),
        };
        let password = password.map(Password::new);

        match user {
            Some((user_id, localpart)) if reasons.is_empty() => Ok(ImportRow {
                line,
                user_id,
                localpart,
                displayname,
                password,
                admin,
                deactivated,
                avatar_url,
                user_type,
                threepids,
                present,
                raw,
            }),
            user => Err(RowError {
                line,
                id: user.map(|(id, _)| id).or(echoed_id),
                reason: reasons.join("; "),
                raw,
            }),
        }
    }
}

/// Parses a localpart or full MXID into `(full MXID, localpart)`.
fn parse_user_id(cell: &str, server_name: &str) -> Result<(String, String), String> {
    if cell.is_empty() {
        return Err("`id` is empty".to_owned());
    }
    let localpart = match cell.strip_prefix('@') {
        Some(rest) => {
            let Some((local, server)) = rest.split_once(':') else {
                return Err(format!(
                    "`{}` is not a user ID (expected localpart or @localpart:{})",
                    echo(cell),
                    echo(server_name)
                ));
            };
            if !server.eq_ignore_ascii_case(server_name) {
                return Err(format!(
                    "`{}` is a user of another server ({}, not {})",
                    echo(cell),
                    echo(server),
                    echo(server_name)
                ));
            }
            local
        }
        None => cell,
    };
    if localpart.is_empty() {
        return Err(format!("`{}` has an empty localpart", echo(cell)));
    }
    let upper = localpart.chars().any(|c| c.is_ascii_uppercase());
    let mut bad: Vec<char> = Vec::new();
    for c in localpart.chars() {
        if !is_localpart_char(c) && !c.is_ascii_uppercase() && !bad.contains(&c) {
            bad.push(c);
        }
    }
    match (upper, bad.is_empty()) {
        (false, true) => {}
        (true, true) => {
            return Err(format!(
                "`{}`: user IDs are lower-case (try `{}`)",
                echo(cell),
                echo(&cell.to_ascii_lowercase())
            ));
        }
        (upper, false) => {
            let shown: Vec<String> = bad.iter().take(5).map(|&c| show_char(c)).collect();
            return Err(format!(
                "`{}` has characters not allowed in a user ID: {}{} (allowed: a-z 0-9 . _ = - / +){}",
                echo(cell),
                shown.join(" "),
                if bad.len() > 5 { " …" } else { "" },
                if upper {
                    "; user IDs are lower-case"
                } else {
                    ""
                }
            ));
        }
    }
    let user_id = format!("@{localpart}:{server_name}");
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(format!(
            "user ID is too long ({} bytes, max {MAX_USER_ID_BYTES})",
            user_id.len()
        ));
    }
    Ok((user_id, localpart.to_owned()))
}

/// The Matrix spec's grammar for new user localparts.
fn is_localpart_char(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' | '/' | '+')
}

/// A character for a message: printable ones quoted, others as `U+XXXX`.
fn show_char(c: char) -> String {
    if is_hidden(c) || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

fn parse_bool(cell: &str) -> Result<bool, &str> {
    let v = cell.trim();
    const TRUE: [&str; 4] = ["true", "1", "yes", "on"];
    const FALSE: [&str; 5] = ["false", "0", "no", "off", ""];
    if TRUE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if FALSE.iter().any(|f| v.eq_ignore_ascii_case(f)) {
        Ok(false)
    } else {
        Err(v)
    }
}

/// `mxc://<server>/<media id>`, both parts non-empty, no whitespace or control characters.
fn is_mxc(url: &str) -> bool {
    url.strip_prefix("mxc://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(server, media)| {
            !server.is_empty()
                && !media.is_empty()
                && !url.chars().any(|c| c.is_whitespace() || is_hidden(c))
        })
}

/// `medium:address,medium:address`; empty pieces are ignored.
fn parse_threepids(cell: &str) -> Result<Vec<Threepid>, String> {
    let mut out = Vec::new();
    for piece in cell.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |why: &str| format!("`threepids`: `{}` {why}", echo(piece));
        let Some((medium, address)) = piece.split_once(':') else {
            return Err(bad("is not medium:address (e.g. email:jane@example.org)"));
        };
        let address = address.trim();
        let medium = medium.trim();
        if medium.eq_ignore_ascii_case("email") {
            let valid = match address.split_once('@') {
                Some((user, domain)) => {
                    !user.is_empty()
                        && !domain.is_empty()
                        && !domain.contains('@')
                        && !address.chars().any(|c| c.is_whitespace() || is_hidden(c))
                }
                None => false,
            };
            if !valid {
                return Err(bad("is not a valid e-mail address"));
            }
            out.push(Threepid {
                medium: Medium::Email,
                address: address.to_owned(),
            });
        } else if medium.eq_ignore_ascii_case("msisdn") {
            let digits = address.strip_prefix('+').unwrap_or(address);
            if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad(
                    "is not a valid phone number (digits, optional leading +)",
                ));
            }
            out.push(Threepid {
                medium: Medium::Msisdn,
                address: digits.to_owned(),
            });
        } else {
            return Err(bad("has an unknown medium (use email or msisdn)"));
        }
    }
    Ok(out)
}

/// Input made safe for a one-line message: whitespace controls become spaces, other
/// [hidden](text::is_hidden) characters are dropped, and the result is
/// [clipped](text::clip) to [`ECHO_CHARS`] characters.
fn echo(s: &str) -> String {
    let flat: String = s
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if is_hidden(c) => None,
            c => Some(c),
        })
        .take(ECHO_CHARS + 1)
        .collect();
    text::clip(&flat, ECHO_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "example.org";
    const FULL_HEADER: &str =
        "id,displayname,password,is_guest,admin,deactivated,avatar_url,user_type,threepids";

    fn parse(text: &str) -> ParsedFile {
        match parse_users_csv(text.as_bytes(), SERVER, 100) {
            Ok(p) => p,
            Err(e) => panic!("unexpected file error: {e}"),
        }
    }

    fn file_err(bytes: &[u8]) -> FileError {
        match parse_users_csv(bytes, SERVER, 3) {
            Ok(p) => panic!("expected a file error, got {p:?}"),
            Err(e) => e,
        }
    }

    fn only_error(p: &ParsedFile) -> &RowError {
        assert!(p.rows.is_empty(), "rows: {:?}", p.rows);
        assert_eq!(p.errors.len(), 1, "errors: {:?}", p.errors);
        &p.errors[0]
    }

    #[test]
    fn well_formed_file() {
        let p = parse(
            "id,displayname,password,is_guest,admin,deactivated\n\
             jane.doe,Jane Doe,secretpassword,false,false,false\n\
             @bot_1:example.org,Bot,,no,YES,0\n",
        );
        assert_eq!(p.delimiter, b',');
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.unknown_columns.is_empty());
        assert_eq!(p.header.len(), 6);
        let [jane, bot] = &p.rows[..] else {
            panic!("{:?}", p.rows)
        };
        assert_eq!(jane.line, 2);
        assert_eq!(jane.user_id, "@jane.doe:example.org");
        assert_eq!(jane.localpart, "jane.doe");
        assert_eq!(jane.displayname.as_deref(), Some("Jane Doe"));
        assert_eq!(
            jane.password.as_ref().map(Password::expose),
            Some("secretpassword")
        );
        assert!(!jane.admin && !jane.deactivated);
        assert_eq!(jane.avatar_url, None);
        assert_eq!(jane.user_type, None);
        assert!(jane.threepids.is_empty());
        assert_eq!(
            jane.present,
            PresentColumns {
                displayname: true,
                password: true,
                admin: true,
                deactivated: true,
                ..PresentColumns::default()
            }
        );
        assert_eq!(
            jane.raw,
            [
                "jane.doe",
                "Jane Doe",
                "secretpassword",
                "false",
                "false",
                "false"
            ]
        );
        assert_eq!(bot.line, 3);
        assert_eq!(bot.user_id, "@bot_1:example.org");
        assert!(bot.admin && !bot.deactivated);
        assert_eq!(bot.password, None);
        assert!(!bot.present.password);
    }

    #[test]
    fn all_columns_parse() {
        let p = parse(&format!(
            "{FULL_HEADER}\n\
             a=b/c+d-e,Ä Ö,pw,off,on,1,mxc://example.org/abc,Support,\"email:a@b.c, msisdn:+4412345,\"\n"
        ));
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let r = &p.rows[0];
        assert_eq!(r.user_id, "@a=b/c+d-e:example.org");
        assert!(r.admin && r.deactivated);
        assert_eq!(r.avatar_url.as_deref(), Some("mxc://example.org/abc"));
        assert_eq!(r.user_type.as_deref(), Some("support"));
        assert_eq!(
            r.threepids,
            [
                Threepid {
                    medium: Medium::Email,
                    address: "a@b.c".into()
                },
                Threepid {
                    medium: Medium::Msisdn,
                    address: "4412345".into()
                },
            ]
        );
    }

    #[test]
    fn bom_semicolon_crlf() {
        let p = parse(
            "\u{FEFF}id;displayname;admin\r\njane;Doe, Jane;true\r\n@joe:example.org;Joe;\r\n",
        );
        assert_eq!(p.delimiter, b';');
        assert_eq!(p.header, ["id", "displayname", "admin"]);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].displayname.as_deref(), Some("Doe, Jane"));
        assert!(p.rows[0].admin);
        assert_eq!((p.rows[1].line, p.rows[1].admin), (3, false));
    }

    #[test]
    fn delimiter_detection() {
        let cases: &[(&str, u8)] = &[
            ("id\njane\n", b','),
            ("id,displayname\njane,a;b;c\n", b','),
            ("id;displayname\njane;a,b,c\n", b';'),
            // More commas, but only `;` yields an `id` column.
            ("id;displayname,with,commas\njane;x\n", b';'),
            // More semicolons, but `;` yields no `id` column.
            ("id,\"a;b;c\"\njane,x\n", b','),
            // Delimiters inside quotes do not count.
            ("\"a,b,c\";id\nx;jane\n", b';'),
        ];
        for (text, want) in cases {
            let p = parse(text);
            assert_eq!(p.delimiter, *want, "{text:?}");
            assert_eq!(p.rows.len(), 1, "{text:?}: {:?}", p.errors);
            assert_eq!(p.rows[0].user_id, "@jane:example.org", "{text:?}");
        }
    }

    #[test]
    fn columns_in_other_order_and_upper_case() {
        let p = parse(" Admin , DisplayName,ID ,PASSWORD\ntrue,Jane,jane,pw\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.unknown_columns.is_empty());
        let r = &p.rows[0];
        assert_eq!(r.user_id, "@jane:example.org");
        assert_eq!(r.displayname.as_deref(), Some("Jane"));
        assert!(r.admin);
        assert_eq!(r.password.as_ref().map(Password::expose), Some("pw"));
        assert!(r.present.admin);
    }

    #[test]
    fn quoted_fields_keep_line_numbers() {
        let text = "id,displayname\n\
                    a,\"Doe, Jane\"\n\
                    b,\"two\nlines, and \"\"quotes\"\"\"\n\
                    c,\"three\r\nlines\r\nhere\"\n\
                    \n\
                    d,last\n";
        let p = parse(text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let got: Vec<(u64, &str, Option<&str>)> = p
            .rows
            .iter()
            .map(|r| (r.line, r.localpart.as_str(), r.displayname.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "a", Some("Doe, Jane")),
                (3, "b", Some("two\nlines, and \"quotes\"")),
                (5, "c", Some("three\r\nlines\r\nhere")),
                (9, "d", Some("last")),
            ]
        );
        // Errors after multi-line records carry the right line too.
        let p = parse("id,displayname\r\na,\"x\r\ny\"\r\nBad,z\r\n");
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn row_errors() {
        let long_name = "é".repeat(MAX_DISPLAYNAME_CHARS + 1);
        let long_pw = "p".repeat(MAX_PASSWORD_BYTES + 1);
        let long_cell = format!("mxc://a/{}", "x".repeat(MAX_CELL_BYTES));
        let long_local = "a".repeat(MAX_USER_ID_BYTES - 1 - SERVER.len());
        // (row after FULL_HEADER, reported id, substring of the reason)
        let cases: Vec<(String, Option<&str>, &str)> = vec![
            (
                "bad!name,,,,,,,,".into(),
                Some("bad!name"),
                "characters not allowed in a user ID: '!'",
            ),
            ("jane doe,,,,,,,,".into(), Some("jane doe"), "U+0020"),
            (
                "Jane Doe,,,,,,,,".into(),
                None,
                "U+0020 (allowed: a-z 0-9 . _ = - / +); user IDs are lower-case",
            ),
            (
                "Jane,,,,,,,,".into(),
                Some("Jane"),
                "user IDs are lower-case (try `jane`)",
            ),
            ("@Jane:example.org,,,,,,,,".into(), None, "lower-case"),
            (
                "@jane:other.org,,,,,,,,".into(),
                Some("@jane:other.org"),
                "user of another server",
            ),
            ("@jane,,,,,,,,".into(), Some("@jane"), "not a user ID"),
            ("@:example.org,,,,,,,,".into(), None, "empty localpart"),
            (",Jane,,,,,,,".into(), None, "`id` is empty"),
            (format!("{long_local},,,,,,,,"), None, "user ID is too long"),
            (
                "jane,,,maybe,,,,,".into(),
                Some("@jane:example.org"),
                "`is_guest`: `maybe` is not a boolean",
            ),
            (
                "jane,,,,2,,,,".into(),
                None,
                "`admin`: `2` is not a boolean",
            ),
            ("jane,,,,,nope,,,".into(), None, "`deactivated`: `nope`"),
            (
                format!("jane,{long_name},,,,,,,"),
                None,
                "`displayname` is too long (257 characters",
            ),
            (
                format!("jane,,{long_pw},,,,,,"),
                None,
                "`password` is too long (513 bytes",
            ),
            (
                format!("jane,,,,,,{long_cell},,"),
                None,
                "`avatar_url` is too long (1032 bytes, max 1024)",
            ),
            (
                "jane,,,,,,,".into(),
                Some("jane"),
                "expected 9 fields, found 8",
            ),
            ("jane,,,,,,,,,".into(), None, "expected 9 fields, found 10"),
            ("jane,,,,,,,,fax:123".into(), None, "unknown medium"),
            (
                "jane,,,,,,,,email:nobody".into(),
                None,
                "not a valid e-mail",
            ),
            ("jane,,,,,,,,email:@b.c".into(), None, "not a valid e-mail"),
            ("jane,,,,,,,,email:a@b@c".into(), None, "not a valid e-mail"),
            (
                "jane,,,,,,,,msisdn:12a".into(),
                None,
                "not a valid phone number",
            ),
            (
                "jane,,,,,,,,msisdn:+".into(),
                None,
                "not a valid phone number",
            ),
            ("jane,,,,,,,,a@b.c".into(), None, "is not medium:address"),
            (
                "jane,,,,,,http://x/y,,".into(),
                None,
                "`avatar_url`: `http://x/y` is not an mxc:// URL",
            ),
            ("jane,,,,,,mxc://,,".into(), None, "not an mxc:// URL"),
            (
                "jane,,,true,,,,,".into(),
                None,
                "`is_guest`: Synapse's Admin API cannot create guest accounts",
            ),
            ("jane,,,,,,mxc://a/b c,,".into(), None, "not an mxc:// URL"),
            (
                "jane,,,,,,,admin,".into(),
                None,
                "`user_type`: `admin` is not a known type",
            ),
        ];
        for (row, id, want) in &cases {
            let p = parse(&format!("{FULL_HEADER}\n{row}\n"));
            let e = only_error(&p);
            assert_eq!(e.line, 2, "{row}");
            assert!(e.reason.contains(want), "{row}: {:?}", e.reason);
            if let Some(id) = id {
                assert_eq!(e.id.as_deref(), Some(*id), "{row}");
            }
            assert_eq!(e.raw.join(","), *row, "raw cells kept");
        }
        // Several problems in one row are all reported.
        let p = parse(&format!("{FULL_HEADER}\nJane,,,x,y,,,,\n"));
        let reason = &only_error(&p).reason;
        assert!(
            reason.contains("lower-case")
                && reason.contains("`is_guest`")
                && reason.contains("`admin`"),
            "{reason}"
        );
        // The longest allowed user ID is fine.
        let ok_local = "a".repeat(MAX_USER_ID_BYTES - 2 - SERVER.len());
        let p = parse(&format!("id\n{ok_local}\n"));
        assert_eq!(p.rows[0].user_id.len(), MAX_USER_ID_BYTES);
    }

    #[test]
    fn duplicate_ids() {
        let p = parse("id,displayname\njane,A\nbob,B\n@jane:EXAMPLE.org,C\njane,D\n");
        assert_eq!(p.rows.len(), 2);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5]);
        for e in &p.errors {
            assert_eq!(e.id.as_deref(), Some("@jane:example.org"));
            assert!(
                e.reason
                    .contains("duplicate of @jane:example.org on line 2"),
                "{}",
                e.reason
            );
        }
    }

    #[test]
    fn unknown_and_blank_columns() {
        let p = parse("id,Foo, email ,\njane,1,2,\n");
        assert_eq!(p.unknown_columns, ["Foo", "email"]);
        assert_eq!(p.rows.len(), 1, "{:?}", p.errors);
        let p = parse(&format!("id,foo\njane,\"long: {}\"\n", "x".repeat(2000)));
        assert!(
            only_error(&p).reason.starts_with("`foo` is too long"),
            "{:?}",
            p.errors
        );
    }

    #[test]
    fn present_columns() {
        let p = parse(&format!("{FULL_HEADER}\njane, ,,,,,,,\n"));
        let r = &p.rows[0];
        assert_eq!((r.displayname.as_ref(), r.password.as_ref()), (None, None));
        assert_eq!(
            r.present,
            PresentColumns {
                displayname: false,
                password: false,
                admin: true,
                deactivated: true,
                avatar_url: true,
                user_type: true,
                threepids: false,
            }
        );
        let p = parse(&format!("{FULL_HEADER}\njane,,,,,,,,email:j@x.org\n"));
        assert!(
            p.rows[0].present.threepids,
            "a filled threepids cell is given"
        );
        let p = parse("id\njane\n");
        assert_eq!(p.rows[0].present, PresentColumns::default());
        // A password is kept verbatim, spaces included.
        let p = parse("password,id\n\" p w \",jane\n");
        assert_eq!(
            p.rows[0].password.as_ref().map(Password::expose),
            Some(" p w ")
        );
    }

    #[test]
    fn booleans() {
        for (cell, want) in [
            ("true", true),
            ("TRUE", true),
            (" 1 ", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("0", false),
            ("No", false),
            ("off", false),
            ("", false),
            ("  ", false),
        ] {
            let p = parse(&format!("id,admin\njane,{cell}\n"));
            assert_eq!(
                p.rows.first().map(|r| r.admin),
                Some(want),
                "{cell:?}: {:?}",
                p.errors
            );
        }
    }

    #[test]
    fn blank_rows_are_skipped() {
        let p = parse("id,displayname\n,\njane,J\n , \n\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows.len(), 1);
    }

    #[test]
    fn file_errors() {
        let cases: Vec<(Vec<u8>, FileError)> = vec![
            (b"".to_vec(), FileError::Empty),
            (b"\xEF\xBB\xBF".to_vec(), FileError::Empty),
            (b" \r\n\n\t\n".to_vec(), FileError::Empty),
            (b"id\njane\0\n".to_vec(), FileError::NotText),
            (
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                FileError::NotText,
            ),
            (b"PK\x03\x04\x14\0\0\0".to_vec(), FileError::Spreadsheet),
            (b"\xFF\xFEi\0d\0".to_vec(), FileError::NotUtf8),
            (
                b"id,displayname\njos,Jos\xE9\n".to_vec(),
                FileError::NotUtf8,
            ),
            (
                b"name,email\njane,j@x\n".to_vec(),
                FileError::NoIdColumn {
                    first_line: "name,email".into(),
                },
            ),
            (
                b"\r\n\"user id\";\"x\"\r\n".to_vec(),
                FileError::NoIdColumn {
                    first_line: "\"user id\";\"x\"".into(),
                },
            ),
            (
                b"id,Admin,admin\n".to_vec(),
                FileError::DuplicateColumn {
                    name: "admin".into(),
                },
            ),
            (
                b"id\na\nb\nc\nd\n".to_vec(),
                FileError::TooManyRows { max: 3 },
            ),
        ];
        for (bytes, want) in cases {
            let got = file_err(&bytes);
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&bytes));
            let msg = got.to_string();
            assert!(!msg.contains('\n') && !msg.is_empty(), "{msg:?}");
        }
        assert_eq!(
            FileError::NoIdColumn {
                first_line: "name,email".into()
            }
            .to_string(),
            "this file has no `id` column (first line: name,email)"
        );
        // Header only, and exactly max_rows rows, are fine.
        for text in ["id,displayname\n", "id\r\n", "\u{FEFF}ID", "id\na\nb\nc\n"] {
            assert!(
                parse_users_csv(text.as_bytes(), SERVER, 3).is_ok(),
                "{text:?}"
            );
        }
        assert!(parse("id,displayname\n").rows.is_empty());
    }

    #[test]
    fn password_is_redacted_in_debug() {
        let p = parse(&format!(
            "{FULL_HEADER}\njane,J,hunter2-secret,,,,,,\nbob,,hunter3-secret,maybe,,,,,\n,,hunter4-secret\n"
        ));
        assert_eq!((p.rows.len(), p.errors.len()), (1, 2));
        let debug = format!("{p:?} {:?} {:#?}", p.rows[0], p.errors);
        assert!(!debug.contains("hunter"), "{debug}");
        assert!(debug.contains("Password(<redacted>)"));
        assert_eq!(
            p.rows[0].password.as_ref().map(Password::expose),
            Some("hunter2-secret")
        );
    }

    fn export_user(id: &str, displayname: Option<&str>) -> ExportUser {
        ExportUser {
            user_id: id.into(),
            displayname: displayname.map(Into::into),
            ..ExportUser::default()
        }
    }

    #[test]
    fn export_round_trips() {
        let users = vec![
            export_user("@plain:example.org", Some("Plain")),
            export_user("@none:example.org", None),
            ExportUser {
                admin: true,
                deactivated: true,
                avatar_url: Some("mxc://example.org/AbC".into()),
                user_type: Some("bot".into()),
                threepids: vec![
                    Threepid {
                        medium: Medium::Email,
                        address: "a@b.c".into(),
                    },
                    Threepid {
                        medium: Medium::Msisdn,
                        address: "4412345".into(),
                    },
                ],
                ..export_user("@all=fields/+x:example.org", Some("Doe, Jane"))
            },
            export_user("@q:example.org", Some("say \"hi\"; ok")),
            export_user("@nl:example.org", Some("two\nlines\r\nthree")),
            export_user("@uni:example.org", Some(" Zoë 山田 🎉 \u{202E}evil ")),
            export_user("@eq:example.org", Some("=SUM(A1)")),
        ];
        let mut out = Vec::new();
        write_users_csv(&users, &mut out).expect("write to Vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with(&format!("{FULL_HEADER}\n")), "{text}");
        let p = parse(&text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.unknown_columns.is_empty());
        let back: Vec<ExportUser> = p
            .rows
            .iter()
            .map(|r| {
                assert!(r.password.is_none());
                ExportUser {
                    user_id: r.user_id.clone(),
                    displayname: r.displayname.clone(),
                    is_guest: false,
                    admin: r.admin,
                    deactivated: r.deactivated,
                    avatar_url: r.avatar_url.clone(),
                    user_type: r.user_type.clone(),
                    threepids: r.threepids.clone(),
                }
            })
            .collect();
        assert_eq!(back, users);
        // Owned items work too.
        let mut out = Vec::new();
        write_users_csv(users.into_iter().take(1), &mut out).expect("write to Vec");
        assert_eq!(
            parse(std::str::from_utf8(&out).expect("utf-8")).rows.len(),
            1
        );
    }

    #[test]
    fn failed_rows_round_trip_in_input_format() {
        let input = "\u{FEFF}ID;Display Name;password;extra\r\n\
                     jane;\"a;b\nc\";pw;x\r\n\
                     Bad;B;;y\r\n\
                     short;only\r\n";
        let p = parse(input);
        assert_eq!(p.delimiter, b';');
        assert_eq!(p.errors.len(), 2);
        let failed = p
            .rows
            .iter()
            .map(|r| &r.raw)
            .chain(p.errors.iter().map(|e| &e.raw));
        let mut out = Vec::new();
        write_failed_rows(&p.header, failed, p.delimiter, &mut out).expect("write to Vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.starts_with("ID;Display Name;password;extra\n"),
            "{text}"
        );
        let again = parse(&text);
        assert_eq!(again.header, p.header);
        assert_eq!(again.delimiter, b';');
        let raws = |f: &ParsedFile| -> Vec<Vec<String>> {
            f.rows
                .iter()
                .map(|r| r.raw.clone())
                .chain(f.errors.iter().map(|e| e.raw.clone()))
                .collect()
        };
        assert_eq!(raws(&again), raws(&p));
    }

    #[test]
    fn hostile_input() {
        let no_unsafe = |s: &str| !s.chars().any(is_hidden);
        // A 1 MB first line: one short error.
        let big = "x".repeat(1 << 20);
        let e = file_err(big.as_bytes());
        let msg = e.to_string();
        assert!(matches!(e, FileError::NoIdColumn { .. }));
        assert!(msg.chars().count() < 120, "{}", msg.len());
        // A 1 MB cell: one short row error.
        let p = parse(&format!("id,displayname\njane,{big}\nbob,B\n"));
        assert_eq!(p.rows.len(), 1);
        let e = &p.errors[0];
        assert!(
            e.reason.len() < 120 && e.reason.contains("too long"),
            "{}",
            e.reason.len()
        );
        // A 1 MB id.
        let p = parse(&format!("id\n{big}\n"));
        assert!(
            only_error(&p)
                .id
                .as_ref()
                .is_some_and(|id| id.chars().count() <= ECHO_CHARS + 1)
        );
        // Control and bidi characters in an id are not echoed.
        let p = parse("id,admin\n\"ev\u{202E}il\u{1b}[31m\u{7}\r\n\u{200F}x\",x\u{202E}y\n");
        let e = only_error(&p);
        assert!(no_unsafe(&e.reason), "{:?}", e.reason);
        assert!(no_unsafe(e.id.as_deref().unwrap_or_default()));
        assert!(
            e.reason.contains("U+202E") && e.reason.contains("U+001B"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("`admin`: `xy`"), "{}", e.reason);
        // Header echo strips them too.
        let e = file_err("na\u{202E}me\u{1b}[2J,\u{2066}x\n".as_bytes());
        assert_eq!(
            e,
            FileError::NoIdColumn {
                first_line: "name[2J,x".into()
            }
        );
        // RTL overrides and controls in a display name are accepted verbatim.
        let p = parse("id,displayname\njane,\"\u{202E}enaJ\u{7}\"\n");
        assert_eq!(p.rows[0].displayname.as_deref(), Some("\u{202E}enaJ\u{7}"));
        // Unbalanced quote: swallows the rest, but yields row errors, not a panic.
        let p = parse("id,displayname\njane,\"open\nbob,B\n");
        assert_eq!((p.rows.len(), p.errors.len()), (1, 0));
        assert_eq!(p.rows[0].displayname.as_deref(), Some("open\nbob,B\n"));
    }

    #[test]
    fn echo_sanitises_and_truncates() {
        assert_eq!(echo("a\tb\nc\u{202E}d\u{0}e"), "a b cde");
        let long = "é".repeat(100);
        let e = echo(&long);
        assert_eq!(e.chars().count(), ECHO_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(echo(&"é".repeat(ECHO_CHARS)), "é".repeat(ECHO_CHARS));
    }
}
