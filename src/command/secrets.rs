//! How a generated password reaches the admin: as a file, only in an encrypted room, redacted by
//! the bot after `safety.secret_ttl`. Never in the text of a message.

use matrix_sdk::ruma::UserId;

use crate::context::Ctx;
use crate::report::{Attachment, Line};

/// The file holding `password` for `user_id`, and the line that tells the admin what to do with it.
pub(super) fn password_file(ctx: &Ctx, user_id: &UserId, password: &str) -> (Attachment, Line) {
    let file = Attachment {
        filename: format!("password-{}.txt", user_id.localpart()),
        mime: "text/plain".into(),
        bytes: format!("{user_id}\n{password}\n").into_bytes(),
        sensitive: true,
    };
    let line = Line::new()
        .text("The password is in the attached file: hand it over; the bot redacts the file in ")
        .text(crate::units::format_age(ctx.config.secret_ttl))
        .text(".");
    (file, line)
}
