//! The bot's side of the stack: the webhook secret (kept in the ingest function, rotated without
//! a gap), making Telegram's webhook agree with the stack, and whether the bot can read the kept
//! chats at all.
//!
//! The secret Telegram was last given is recorded as a fingerprint (a tag of the ingest
//! function), so that `up` knows whether Telegram holds the function's secret without calling
//! `setWebhook` each time. A rotation first gives the function the new secret beside the old,
//! then tells Telegram, then drops the old: whatever interrupts it, every delivery is accepted,
//! and the next `up` or `set-webhook` finishes it.

use std::collections::HashMap;

use anyhow::{Context, bail};
use aws_sdk_lambda::types::Environment;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws::{AwsResultExt, NotFound};
use crate::stack::{Function, Stack};
use crate::telegram::{ALLOWED_UPDATES, Me, Telegram, TelegramError, WebhookInfo};

mod takeover;

pub use takeover::takeover;

/// The ingest function's tag holding the fingerprint of the secret Telegram was last given.
pub const SECRET_TAG: &str = "tgpipe:webhook-secret-sha256";

/// A new webhook secret: 32 characters of Telegram's allowed alphabet.
pub fn new_secret() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the webhook secret: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect())
}

/// What is recorded of a secret: enough to recognise it, nothing to rebuild it from.
pub fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ingest function's secrets and what Telegram was last given.
pub struct Secrets {
    /// As `TGPIPE_WEBHOOK_SECRET` holds them: the current one first, the old one during a
    /// rotation.
    pub secrets: Vec<String>,
    /// The fingerprint of the secret Telegram was last given, if recorded.
    pub given: Option<String>,
    vars: HashMap<String, String>,
    arn: String,
}

impl Secrets {
    /// The secret Telegram should hold.
    pub fn current(&self) -> &str {
        self.secrets.first().map(String::as_str).unwrap_or_default()
    }

    /// A rotation was started and not finished.
    pub fn rotating(&self) -> bool {
        self.secrets.len() > 1
    }

    /// Whether Telegram was last given the current secret.
    pub fn telegram_has_current(&self) -> bool {
        self.given.as_deref() == Some(fingerprint(self.current()).as_str())
    }
}

/// The deployed ingest function's secrets; `None` when the function is missing.
pub async fn secrets(
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
) -> anyhow::Result<Option<Secrets>> {
    let name = stack.function(Function::Ingest);
    let out = match lambda.get_function().function_name(&name).send().await {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("Lambda GetFunction {name}")),
    };
    let config = out
        .configuration()
        .context("Lambda GetFunction returned no configuration")?;
    let vars = config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let arn = config.function_arn().unwrap_or_default().to_owned();
    Ok(Some(Secrets::new(vars, out.tags(), arn)))
}

/// The deployed ingest function's secrets as the stack's read found them; `None` when the
/// function is missing.
pub fn secrets_read(read: &crate::stack::StackRead) -> Option<Secrets> {
    let found = read.of::<crate::stack::lambda::Functions>()?;
    let deployed = crate::stack::lambda::deployed(found, Function::Ingest)?;
    Some(Secrets::new(
        deployed.environment(),
        deployed.tags(),
        deployed.arn().to_owned(),
    ))
}

impl Secrets {
    fn new(
        vars: HashMap<String, String>,
        tags: Option<&HashMap<String, String>>,
        arn: String,
    ) -> Secrets {
        let secrets = vars
            .get(lake::env::WEBHOOK_SECRET)
            .map(|s| {
                s.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Secrets {
            secrets,
            given: tags.and_then(|t| t.get(SECRET_TAG)).cloned(),
            vars,
            arn,
        }
    }
}

/// Whether Telegram's webhook asks for exactly the update kinds the stack keeps.
pub fn allowed_updates_agree(info: &WebhookInfo) -> bool {
    let mut given: Vec<&str> = info
        .allowed_updates
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut wanted = ALLOWED_UPDATES.to_vec();
    given.sort_unstable();
    wanted.sort_unstable();
    given == wanted
}

/// What `converge` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converged {
    /// `setWebhook` was called (URL, secret or update kinds differed).
    pub set: bool,
    /// An unfinished rotation was finished (the old secret dropped).
    pub rotation_finished: bool,
}

/// Makes Telegram's webhook agree with the stack (URL, current secret, update kinds), calling
/// `setWebhook` only when something differs; then finishes a rotation left unfinished. The
/// secret is read back from the deployed function, so that two `up`s at once agree on it.
/// With `force`, `setWebhook` is called whatever Telegram reports (`tgpipe set-webhook`).
pub async fn converge(
    bot: &Telegram,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    url: &str,
    force: bool,
) -> anyhow::Result<Converged> {
    let secrets = secrets(lambda, stack)
        .await?
        .context("the ingest function is missing: run `tgpipe up`")?;
    if secrets.secrets.is_empty() {
        bail!(
            "the ingest function has no webhook secret: run `tgpipe set-webhook --rotate-secret`"
        );
    }
    let info = bot.get_webhook_info().await?;
    let agrees =
        !force && info.url == url && secrets.telegram_has_current() && allowed_updates_agree(&info);
    if !agrees {
        set_and_verify(bot, url, secrets.current()).await?;
        lambda
            .tag_resource()
            .resource(&secrets.arn)
            .tags(SECRET_TAG, fingerprint(secrets.current()))
            .send()
            .await
            .aws(format!(
                "Lambda TagResource {}",
                stack.function(Function::Ingest)
            ))?;
    }
    // Only once Telegram holds the new secret is the old one dropped.
    if secrets.rotating() {
        set_secrets(lambda, stack, &secrets, secrets.current()).await?;
    }
    Ok(Converged {
        set: !agrees,
        rotation_finished: secrets.rotating(),
    })
}

/// A rotation without a gap: the function accepts the new secret beside the old one, Telegram is
/// given the new one, then the old one is dropped.
pub async fn rotate(
    bot: &Telegram,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    url: &str,
) -> anyhow::Result<()> {
    let mut secrets = secrets(lambda, stack)
        .await?
        .context("the ingest function is missing: run `tgpipe up` first")?;
    if secrets.rotating() {
        // An earlier rotation was cut short: Telegram may still hold the old secret. It is
        // finished first (Telegram given the newer one, then the old dropped), so that the new
        // rotation never drops the secret Telegram holds.
        converge(bot, lambda, stack, url, false).await?;
        secrets = crate::webhook::secrets(lambda, stack)
            .await?
            .context("the ingest function is missing: run `tgpipe up` first")?;
    }
    let new = new_secret()?;
    let both = match secrets.secrets.first() {
        Some(old) => format!("{new},{old}"),
        None => new,
    };
    set_secrets(lambda, stack, &secrets, &both).await?;
    converge(bot, lambda, stack, url, true).await.map(|_| ())
}

/// Sets the ingest function's secret variable (keeping every other variable) and waits until
/// the function uses it.
async fn set_secrets(
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    secrets: &Secrets,
    value: &str,
) -> anyhow::Result<()> {
    let name = stack.function(Function::Ingest);
    // The variables as they are once the function is ready (an update under way, an `up`'s,
    // may have changed them since `secrets` was read): only the secret changes.
    crate::stack::lambda::wait_ready(lambda, &name).await?;
    let mut vars = match self::secrets(lambda, stack).await? {
        Some(now) => now.vars,
        None => secrets.vars.clone(),
    };
    vars.insert(lake::env::WEBHOOK_SECRET.to_owned(), value.to_owned());
    let what = format!("Lambda UpdateFunctionConfiguration {name}");
    crate::stack::lambda::change_when_ready(lambda, &name, &what, || {
        lambda
            .update_function_configuration()
            .function_name(&name)
            .environment(
                Environment::builder()
                    .set_variables(Some(vars.clone()))
                    .build(),
            )
            .send()
    })
    .await?;
    crate::stack::lambda::wait_ready(lambda, &name).await
}

/// `setWebhook`, then `getWebhookInfo` to see that Telegram took it.
pub async fn set_and_verify(bot: &Telegram, url: &str, secret: &str) -> anyhow::Result<()> {
    bot.set_webhook(url, secret).await?;
    let info = bot.get_webhook_info().await?;
    if info.url != url {
        bail!(
            "Telegram reports the webhook as {:?} after setWebhook to {url}; run `tgpipe set-webhook`",
            info.url
        );
    }
    Ok(())
}

/// Whether the bot can read a kept chat in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatCheck {
    pub id: i64,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// What stops the bot from seeing every message, and how to fix it.
    pub problem: Option<String>,
}

impl ChatCheck {
    /// `-1001234567890 "Team chat" (supergroup)`.
    pub fn label(&self) -> String {
        match (&self.title, &self.kind) {
            (Some(t), Some(k)) => format!("{} \"{t}\" ({k})", self.id),
            _ => self.id.to_string(),
        }
    }
}

/// The fix for a bot in privacy mode, in the words of @BotFather.
pub const PRIVACY_FIX: &str = "privacy mode is on, so the bot receives only commands and mentions: in @BotFather send /setprivacy, choose the bot, Disable, then remove the bot from the group and add it again; or make the bot an admin of the group";

/// Checks each kept chat: is the bot in it, and does it see every message (privacy mode off, or
/// an admin; a channel's posts reach admins only).
pub async fn check_chats(bot: &Telegram, me: &Me, chats: &[i64]) -> anyhow::Result<Vec<ChatCheck>> {
    let mut checks = Vec::new();
    for &id in chats {
        let chat = match bot.get_chat(id).await {
            Ok(chat) => chat,
            Err(TelegramError::Api { description, .. }) => {
                checks.push(ChatCheck {
                    id,
                    title: None,
                    kind: None,
                    problem: Some(format!(
                        "the bot cannot see this chat ({description}): add the bot to the group, or check the id with a message in the group"
                    )),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let status = match chat.kind.as_str() {
            "group" | "supergroup" | "channel" => {
                Some(bot.get_chat_member_status(id, me.id).await?)
            }
            _ => None,
        };
        let admin = matches!(status.as_deref(), Some("administrator" | "creator"));
        let problem = match (chat.kind.as_str(), status.as_deref()) {
            (_, Some("left" | "kicked")) => {
                Some("the bot is not a member of this chat: add it to the group".to_owned())
            }
            ("channel", _) if !admin => Some(
                "the bot receives a channel's posts only as an admin: make it an admin of the channel"
                    .to_owned(),
            ),
            ("group" | "supergroup", _) if !admin && !me.can_read_all_group_messages => {
                Some(PRIVACY_FIX.to_owned())
            }
            _ => None,
        };
        checks.push(ChatCheck {
            id,
            title: Some(chat.title),
            kind: Some(chat.kind),
            problem,
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_new_each_time_and_fingerprints_reveal_nothing_of_them() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(fingerprint(&a), fingerprint(&a));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert!(!fingerprint(&a).contains(&a[..8]));
    }
}
