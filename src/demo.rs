//! `tgpipe local demo`: a group's made-up updates (the project's one generator, `lake::sample`),
//! so that the pipeline can be tried with no bot and no AWS account. Deterministic: the same
//! updates every run, so a second run rewrites the same files and counts nothing twice.

/// The demo's group, the only chat it keeps (a channel's posts and another chat are ignored, as
/// with a real bot).
pub const GROUP_ID: i64 = lake::sample::GROUP_ID;
/// The first day of the demo's updates (a Monday).
pub const START: &str = "2024-05-06";
/// The demo's seed: the same updates on every run.
const SEED: u64 = 2024;

/// `days` days of `per_day` updates from `START`, in delivery order, as Telegram sends them.
pub fn updates(days: u32, per_day: u32) -> Vec<String> {
    let start = lake::layout::parse_day(START).unwrap_or_default();
    lake::sample::updates(&lake::sample::Options {
        updates: days as usize * per_day as usize,
        days,
        start,
        seed: SEED,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_updates_are_the_same_every_run() {
        let updates = super::updates(2, 500);
        assert_eq!(updates, super::updates(2, 500));
        assert_eq!(updates.len(), 1000);
    }
}
