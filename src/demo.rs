//! `tgpipe local demo`: a group's made-up updates, so that the pipeline can be tried with no bot
//! and no AWS account. Deterministic: the same updates every run, so a second run rewrites the
//! same files and counts nothing twice.

use serde_json::{Value, json};

/// The demo's group, the only chat it keeps.
pub const GROUP_ID: i64 = -1001234567890;
/// A chat the bot is in but that is not kept: its updates are ignored, as with a real bot.
const OTHER_ID: i64 = -1009999999999;
/// The first day of the demo's updates (a Monday).
pub const START: &str = "2024-05-06";

const WORDS: &[&str] = &[
    "dados",
    "pipeline",
    "telegram",
    "bom",
    "dia",
    "reunião",
    "amanhã",
    "café",
    "código",
    "rust",
    "python",
    "sql",
    "athena",
    "lambda",
    "bucket",
    "parquet",
    "análise",
    "métricas",
    "grupo",
    "obrigado",
    "👍",
    "🚀",
    "ação",
    "hoje",
    "ontem",
    "semana",
    "projeto",
    "entrega",
    "prazo",
    "the",
    "report",
    "is",
    "ready",
    "deploy",
    "tomorrow",
    "and",
    "de",
    "que",
    "o",
    "a",
];
const NAMES: &[&str] = &[
    "Ana", "Bruno", "Chen", "Dalia", "Eduardo", "Fatima", "Gabriel", "Hana", "Inês", "João",
    "Kenji", "Lucía", "Mateus", "Noah", "Olga", "Pedro",
];

/// A small, seeded generator (SplitMix64): the demo needs repeatable variety, not statistics.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// `days` days of `per_day` updates from `START`, in delivery order, as Telegram sends them
/// (JSON text): messages with replies and edits, a bot, a photo now and then, and a few updates
/// of another chat.
pub fn updates(days: u32, per_day: u32) -> Vec<String> {
    let mut rng = Rng(2024);
    let start = lake::layout::parse_day(START)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default();
    let users: Vec<Value> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"id": 100_000_000 + i as i64 * 7919, "is_bot": i == 5, "first_name": name})
        })
        .collect();
    let group = json!({"id": GROUP_ID, "title": "Dados & Café ☕", "type": "supergroup"});
    let other = json!({"id": OTHER_ID, "title": "Not kept", "type": "supergroup"});
    let total = (days * per_day) as i64;
    // Spread over the days, busier in the afternoon; delivered in time order, so that a reply
    // or an edit always comes after its message.
    let mut times: Vec<i64> = (0..total)
        .map(|n| {
            let hour = [9, 10, 11, 14, 15, 16, 17, 20][rng.below(8)];
            start + n * i64::from(days) / total * 86_400 + hour * 3600 + rng.below(3600) as i64
        })
        .collect();
    times.sort_unstable();
    let mut sent: Vec<Value> = Vec::new();
    let mut out = Vec::with_capacity(total as usize);
    for (n, date) in (0..total).zip(times) {
        let update_id = 600_000_000 + n;
        let user = &users[rng.below(users.len())];
        let text: Vec<&str> = (0..1 + rng.below(12))
            .map(|_| WORDS[rng.below(WORDS.len())])
            .collect();
        let update = if rng.chance(3) {
            json!({"update_id": update_id, "message": {"message_id": 1, "from": user,
                   "chat": other, "date": date, "text": text.join(" ")}})
        } else if rng.chance(4) && !sent.is_empty() {
            let mut edited = sent[sent.len() - 1 - rng.below(sent.len().min(50))].clone();
            edited["edit_date"] = json!(date);
            edited["text"] = json!(format!("{} (editado)", text.join(" ")));
            json!({"update_id": update_id, "edited_message": edited})
        } else {
            let mut message = json!({"message_id": 1000 + n, "from": user, "chat": group,
                                     "date": date});
            if rng.chance(8) {
                message["photo"] = json!([{"file_id": format!("photo{n}"), "file_unique_id":
                    format!("p{n}"), "width": 1280, "height": 720}]);
                message["caption"] = json!(text.join(" "));
            } else {
                message["text"] = json!(text.join(" "));
            }
            if rng.chance(15) && !sent.is_empty() {
                let to = sent[sent.len() - 1 - rng.below(sent.len().min(20))].clone();
                message["reply_to_message"] = to;
            }
            sent.push(message.clone());
            json!({"update_id": update_id, "message": message})
        };
        out.push(update.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_updates_are_the_same_every_run_and_varied() {
        let updates = updates(2, 500);
        assert_eq!(updates, super::updates(2, 500));
        assert_eq!(updates.len(), 1000);
        let count = |needle: &str| updates.iter().filter(|u| u.contains(needle)).count();
        for kind in [
            "\"edited_message\"",
            "\"reply_to_message\"",
            "\"photo\"",
            "\"is_bot\":true",
        ] {
            assert!(count(kind) > 10, "{kind}");
        }
        assert!(count(&OTHER_ID.to_string()) > 10);
        // Replies point back in time, so a reply time is never negative.
        for u in &updates {
            let v: Value = serde_json::from_str(u).unwrap();
            if let Some(to) = v["message"].get("reply_to_message") {
                assert!(to["date"].as_i64() <= v["message"]["date"].as_i64());
            }
        }
    }
}
