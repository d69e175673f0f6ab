//! Realistic made-up Telegram updates: the one generator behind `tgpipe local demo`, the tests and
//! the benchmarks. Deterministic for a seed, so a run can be repeated byte for byte.
//!
//! A busy group (text with entities, quotes and line breaks, every kind of media, service
//! messages, replies, edits of earlier messages, bots, names in many scripts and emoji beyond the
//! Basic Multilingual Plane), a channel's posts and their edits, a chat that is not kept, and
//! updates that are not messages (`my_chat_member`). Updates come in delivery order: a reply or an
//! edit always comes after its message.

use chrono::NaiveDate;
use serde_json::{Value, json};

/// The group the samples are about.
pub const GROUP_ID: i64 = -1001234567890;
/// A channel whose posts are kept too when asked for.
pub const CHANNEL_ID: i64 = -1005555555555;
/// A chat the bot is in but that is not kept.
pub const OTHER_ID: i64 = -1009999999999;
/// The first `update_id` is one above this.
pub const FIRST_UPDATE_ID: i64 = 500_000_000;

const WORDS: &[&str] = &[
    "olá",
    "mundo",
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
    "pessoal",
    "obrigado",
    "👍",
    "🚀",
    "ação",
    "informação",
    "não",
    "sim",
    "talvez",
    "hoje",
    "ontem",
    "semana",
    "próxima",
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
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "日本語",
];
const FIRST: &[&str] = &[
    "Andre", "Maria", "José", "Zoë", "Łukasz", "Ana", "João", "Beatriz", "Chen", "Fatima", "Olga",
    "Pedro", "Lucía", "Kenji", "Amara", "Noah", "Inês", "Ravi", "Sofía", "Mateus",
];
const LAST: &[&str] = &[
    "Silva",
    "Souza",
    "Müller",
    "O'Neil",
    "Nguyễn",
    "Back\\slash",
];
/// Hours of the day, the afternoon twice as likely.
const HOURS: &[i64] = &[
    8, 9, 10, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 19, 20, 21, 22, 23, 0, 3,
];

/// What to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How many updates in all.
    pub updates: usize,
    /// Over how many days from `start` (UTC).
    pub days: u32,
    pub start: NaiveDate,
    pub seed: u64,
}

/// A small, seeded generator (SplitMix64): repeatable variety, not statistics.
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
        (self.next() % n.max(1) as u64) as usize
    }

    /// True `per_mille` times in a thousand.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn people(rng: &mut Rng) -> Vec<Value> {
    (0..60)
        .map(|i: usize| {
            let is_bot = i.is_multiple_of(17);
            let suffix = if i < FIRST.len() {
                String::new()
            } else {
                format!(" {i}")
            };
            let mut u = json!({"id": 100_000_000 + i as i64 * 7919, "is_bot": is_bot,
                               "first_name": format!("{}{suffix}", FIRST[i % FIRST.len()])});
            if rng.chance(700) {
                u["last_name"] = json!(rng.pick(LAST));
            }
            if rng.chance(600) {
                u["username"] = json!(if is_bot {
                    format!("helper{i}_bot")
                } else {
                    format!("user_{i}")
                });
            }
            if rng.chance(500) {
                u["language_code"] = json!(rng.pick(&["pt-br", "en", "es"]));
            }
            u
        })
        .collect()
}

fn text(rng: &mut Rng) -> String {
    let n = 1 + rng.below(4) * rng.below(6) + rng.below(3);
    let mut words: Vec<String> = (0..n).map(|_| rng.pick(WORDS).to_string()).collect();
    if rng.chance(50) {
        let at = rng.below(words.len() + 1);
        words.insert(at, "say \"quoted\"\nnew line".to_owned());
    }
    words.join(" ")
}

fn file(kind: &str, id: i64) -> Value {
    json!({"file_id": format!("{kind}{id}"), "file_unique_id": format!("u{kind}{id}"), "file_size": 1200 + id % 500})
}

/// A message of `user` in `chat`, of a kind drawn from a realistic mix.
fn message(rng: &mut Rng, id: i64, user: &Value, chat: &Value, date: i64) -> Value {
    let mut m = json!({"message_id": id, "from": user, "chat": chat, "date": date});
    let r = rng.below(1000);
    let caption = |rng: &mut Rng, m: &mut Value, per_mille| {
        if rng.chance(per_mille) {
            m["caption"] = json!(text(rng));
        }
    };
    match r {
        0..=779 => {
            let t = text(rng);
            if rng.chance(100) {
                let len = t.encode_utf16().count().min(4);
                m["entities"] = json!([{"offset": 0, "length": len, "type": "bold"}]);
            }
            m["text"] = json!(t);
        }
        780..=849 => {
            m["photo"] = json!([file("photo", id)]);
            caption(rng, &mut m, 600);
        }
        850..=874 => {
            m["sticker"] = json!({"file_id": format!("sticker{id}"), "file_unique_id": format!("s{id}"),
                "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "😀"});
        }
        875..=894 => m["voice"] = json!({"duration": 3 + id % 40, "mime_type": "audio/ogg"}),
        895..=909 => {
            m["document"] = json!({"file_id": format!("doc{id}"), "file_unique_id": format!("d{id}"),
                "file_name": "relatório.pdf", "mime_type": "application/pdf"});
            caption(rng, &mut m, 500);
        }
        910..=919 => {
            m["video"] = json!({"width": 640, "height": 360, "duration": 12});
            caption(rng, &mut m, 300);
        }
        920..=929 => {
            // An animation also carries a document, as Telegram sends it.
            m["animation"] = json!({"width": 320, "height": 240, "duration": 2});
            m["document"] = json!({"file_name": "funny.mp4", "mime_type": "video/mp4"});
        }
        930..=934 => m["video_note"] = json!({"length": 240, "duration": 9}),
        935..=939 => m["audio"] = json!({"duration": 201, "title": "Música 🎵"}),
        940..=947 => {
            m["location"] = json!({"latitude": -23.55 + rng.below(100) as f64 / 100.0,
                                   "longitude": -46.63 + rng.below(100) as f64 / 100.0})
        }
        948..=951 => {
            // A venue also carries a location.
            m["location"] = json!({"latitude": -22.9, "longitude": -43.2});
            m["venue"] = json!({"location": {"latitude": -22.9, "longitude": -43.2},
                                "title": "Café do Ponto", "address": "Rua 1"});
        }
        952..=955 => m["contact"] = json!({"phone_number": "+5511999999999", "first_name": "Zé"}),
        956..=963 => {
            m["poll"] = json!({"id": id.to_string(), "question": "Almoço?",
                "options": [{"text": "sim", "voter_count": 0}, {"text": "não", "voter_count": 0}],
                "total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular",
                "allows_multiple_answers": false})
        }
        964..=969 => m["dice"] = json!({"emoji": "🎲", "value": 1 + id % 6}),
        970..=984 => {
            m["new_chat_members"] = json!([user]);
            m["new_chat_member"] = user.clone();
            m["new_chat_participant"] = user.clone();
        }
        985..=991 => {
            m["pinned_message"] = json!({"message_id": id - 1, "chat": chat, "date": date})
        }
        992..=995 => m["new_chat_title"] = json!("Dados & Café ☕ 2"),
        _ => m["story"] = json!({"chat": chat, "id": 7}),
    }
    m
}

/// The updates, in delivery order, each as the JSON text Telegram sends (no spaces, UTF-8).
pub fn updates(options: &Options) -> Vec<String> {
    let mut rng = Rng(options.seed);
    let people = people(&mut rng);
    let group = json!({"id": GROUP_ID, "title": "Dados & Café ☕", "type": "supergroup"});
    let other = json!({"id": OTHER_ID, "title": "Not ours", "type": "supergroup"});
    let channel = json!({"id": CHANNEL_ID, "title": "Anúncios 📣", "type": "channel"});
    let start = options
        .start
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default();
    let days = options.days.max(1) as usize;
    let mut times: Vec<i64> = (0..options.updates)
        .map(|_| {
            let day = rng.below(days) as i64;
            start + day * 86_400 + rng.pick(HOURS) * 3600 + rng.below(3600) as i64
        })
        .collect();
    times.sort_unstable();

    let (mut sent, mut posts) = (Vec::<Value>::new(), Vec::<Value>::new());
    let (mut message_id, mut post_id) = (1000_i64, 1_i64);
    let mut out = Vec::with_capacity(options.updates);
    for (n, date) in times.into_iter().enumerate() {
        let update_id = FIRST_UPDATE_ID + 1 + n as i64;
        let r = rng.below(1000);
        let update = if r < 40 && !sent.is_empty() {
            // An edit of one of the last 500 messages: new text, the original's date.
            let back = rng.below(sent.len().min(500));
            let mut edited = sent[sent.len() - 1 - back].clone();
            edited["edit_date"] = json!(date);
            edited["text"] = json!(format!("{} (editado)", text(&mut rng)));
            if let Some(m) = edited.as_object_mut() {
                m.remove("photo");
            }
            json!({"update_id": update_id, "edited_message": edited})
        } else if r < 55 {
            post_id += 1;
            let post = json!({"message_id": post_id, "sender_chat": channel, "chat": channel,
                              "date": date, "text": text(&mut rng)});
            posts.push(post.clone());
            json!({"update_id": update_id, "channel_post": post})
        } else if r < 60 && !posts.is_empty() {
            let mut edited = posts[rng.below(posts.len())].clone();
            edited["edit_date"] = json!(date);
            edited["text"] = json!(format!("{} (corrigido)", text(&mut rng)));
            json!({"update_id": update_id, "edited_channel_post": edited})
        } else if r < 70 {
            let user = rng.pick(&people).clone();
            json!({"update_id": update_id, "message": message(&mut rng, 1, &user, &other, date)})
        } else if r < 75 {
            json!({"update_id": update_id, "my_chat_member": {"chat": group, "from": people[1],
                "date": date, "old_chat_member": {"status": "member", "user": people[0]},
                "new_chat_member": {"status": "administrator", "user": people[0]}}})
        } else {
            message_id += 1;
            let user = rng.pick(&people).clone();
            let mut m = message(&mut rng, message_id, &user, &group, date);
            if !sent.is_empty() && rng.chance(50) {
                let back = rng.below(sent.len().min(200));
                m["reply_to_message"] = sent[sent.len() - 1 - back].clone();
            }
            sent.push(m.clone());
            json!({"update_id": update_id, "message": m})
        };
        out.push(update.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(updates: usize) -> Options {
        Options {
            updates,
            days: 2,
            start: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
            seed: 7,
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_updates_and_they_cover_what_tests_need() {
        let updates = updates(&options(6000));
        assert_eq!(updates, super::updates(&options(6000)));
        assert_ne!(
            updates,
            super::updates(&Options {
                seed: 8,
                ..options(6000)
            })
        );
        let count = |needle: &str| updates.iter().filter(|u| u.contains(needle)).count();
        for needle in [
            "\"edited_message\"",
            "\"edited_channel_post\"",
            "\"channel_post\"",
            "\"my_chat_member\"",
            "\"reply_to_message\"",
            "\"is_bot\":true",
            "\"entities\"",
            &OTHER_ID.to_string(),
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        ] {
            assert!(count(needle) > 3, "{needle}: {}", count(needle));
        }
        // Every message type of the table, and service messages.
        let mut kinds = std::collections::BTreeSet::new();
        for u in &updates {
            if let Ok(crate::Update {
                message: Some((_, m)),
                ..
            }) = crate::Update::from_slice(u.as_bytes())
            {
                kinds.insert(m.message_type);
            }
        }
        assert_eq!(kinds.len(), crate::update::MESSAGE_TYPES.len(), "{kinds:?}");
        // Delivery order: a reply or an edit comes after its message.
        for u in &updates {
            let v: Value = serde_json::from_str(u).unwrap();
            if let Some(to) = v["message"].get("reply_to_message") {
                assert!(to["date"].as_i64() <= v["message"]["date"].as_i64());
            }
            if let Some(e) = v.get("edited_message") {
                assert!(e["date"].as_i64() <= e["edit_date"].as_i64());
            }
        }
    }
}
