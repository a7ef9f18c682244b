//! Which backups rotation keeps: the newest `daily` of distinct days, then,
//! older than those, the newest of `weekly` distinct ISO weeks, then, older
//! still, the newest of `monthly` distinct months (7/4/3 by default: 14
//! backups reaching about three months back). The tiers do not overlap, so a
//! tenant backed up once a day keeps exactly `daily + weekly + monthly`.
//!
//! A pure function of the backups' times and the clock it is given: the
//! scheduler passes the real clock, the tests a simulated one.

use time::PrimitiveDateTime;

/// How many backups of each tier rotation keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Newest backups of distinct days.
    pub daily: u32,
    /// Then, of distinct ISO weeks.
    pub weekly: u32,
    /// Then, of distinct months.
    pub monthly: u32,
}

impl Default for Policy {
    /// 7 daily, 4 weekly, 3 monthly.
    fn default() -> Self {
        Policy { daily: 7, weekly: 4, monthly: 3 }
    }
}

/// Most backups a tier may keep.
pub const MAX_PER_TIER: u32 = 366;

/// Why a backup is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// One of the newest days.
    Daily,
    /// One of the weeks before.
    Weekly,
    /// One of the months before.
    Monthly,
    /// Made after `now` (a clock that went back): never removed by rotation.
    Future,
}

/// What rotation decides for a set of backups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan<Id> {
    /// Kept, newest first, with why.
    pub keep: Vec<(Id, Tier)>,
    /// To delete, newest first.
    pub delete: Vec<Id>,
}

fn day(at: PrimitiveDateTime) -> (i32, u16) {
    (at.year(), at.ordinal())
}

fn week(at: PrimitiveDateTime) -> (i32, u8) {
    let (year, week, _) = at.date().to_iso_week_date();
    (year, week)
}

fn month(at: PrimitiveDateTime) -> (i32, u8) {
    (at.year(), u8::from(at.month()))
}

/// Decide which of `backups` (any order; id and creation time) to keep under
/// `policy` at `now`.
pub fn plan<Id: Clone>(backups: &[(Id, PrimitiveDateTime)], policy: Policy, now: PrimitiveDateTime) -> Plan<Id> {
    let mut sorted: Vec<&(Id, PrimitiveDateTime)> = backups.iter().collect();
    sorted.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut plan = Plan { keep: Vec::new(), delete: Vec::new() };
    let (mut days, mut weeks, mut months) = (0u32, 0u32, 0u32);
    // The bucket of the last backup kept, in each granularity.
    let mut last: Option<PrimitiveDateTime> = None;
    for (id, at) in sorted {
        let at = *at;
        if at > now {
            plan.keep.push((id.clone(), Tier::Future));
            continue;
        }
        let tier = if days < policy.daily {
            (last.is_none_or(|l| day(l) != day(at))).then_some(Tier::Daily)
        } else if weeks < policy.weekly {
            (last.is_none_or(|l| week(l) != week(at))).then_some(Tier::Weekly)
        } else if months < policy.monthly {
            (last.is_none_or(|l| month(l) != month(at))).then_some(Tier::Monthly)
        } else {
            None
        };
        match tier {
            Some(tier) => {
                match tier {
                    Tier::Daily => days += 1,
                    Tier::Weekly => weeks += 1,
                    Tier::Monthly => months += 1,
                    Tier::Future => {}
                }
                last = Some(at);
                plan.keep.push((id.clone(), tier));
            }
            None => plan.delete.push(id.clone()),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::{Duration, Weekday};

    /// A simulated year: one backup a day at 02:00 (and on Sundays a second
    /// one by hand), rotated after each, by a clock that moves with it.
    #[test]
    fn a_year_of_daily_backups_leaves_seven_daily_four_weekly_three_monthly() {
        let start = datetime!(2026-01-01 02:00);
        let mut kept: Vec<(u32, PrimitiveDateTime)> = Vec::new();
        let mut next = 0u32;
        let mut deleted = 0usize;
        for d in 0..365 {
            let clock = start + Duration::days(d);
            kept.push((next, clock));
            next += 1;
            if clock.weekday() == Weekday::Sunday {
                kept.push((next, clock + Duration::hours(10)));
                next += 1;
            }
            let now = clock + Duration::hours(12);
            let plan = plan(&kept, Policy::default(), now);
            deleted += plan.delete.len();
            kept.retain(|(id, _)| plan.keep.iter().any(|(k, _)| k == id));
        }
        assert_eq!(kept.len(), 14, "{kept:?}");
        assert_eq!(deleted, next as usize - 14);
        let end = start + Duration::days(364) + Duration::hours(12);
        let plan = plan(&kept, Policy::default(), end);
        assert!(plan.delete.is_empty(), "stable: {plan:?}");
        let tiers = |tier: Tier| -> Vec<PrimitiveDateTime> {
            plan.keep
                .iter()
                .filter(|(_, t)| *t == tier)
                .map(|(id, _)| kept.iter().find(|(k, _)| k == id).unwrap().1)
                .collect()
        };
        let (daily, weekly, monthly) = (tiers(Tier::Daily), tiers(Tier::Weekly), tiers(Tier::Monthly));
        assert_eq!((daily.len(), weekly.len(), monthly.len()), (7, 4, 3));
        // The last seven days (2026-12-25 .. 2026-12-31), the newest of each.
        let days: Vec<String> = daily.iter().map(|at| at.date().to_string()).collect();
        assert_eq!(
            days,
            ["2026-12-31", "2026-12-30", "2026-12-29", "2026-12-28", "2026-12-27", "2026-12-26", "2026-12-25"]
        );
        // 2026-12-27 is a Sunday: the later of its two backups is the one kept.
        assert_eq!(daily[4].hour(), 12);
        // Four distinct weeks before them, each its newest backup (a Sunday's second).
        let weeks: Vec<u8> = weekly.iter().map(|at| at.date().iso_week()).collect();
        assert_eq!(weeks, [51, 50, 49, 48]);
        assert!(weekly.iter().all(|at| at.weekday() == Weekday::Sunday && at.hour() == 12), "{weekly:?}");
        assert!(weekly[0] < daily[6]);
        // Three distinct months before those, newest first, each the newest
        // backup left of its month: the weekly tier had kept only Sundays,
        // so the last Sunday of October, September and August.
        let months: Vec<String> = monthly.iter().map(|at| at.date().to_string()).collect();
        assert_eq!(months, ["2026-10-25", "2026-09-27", "2026-08-30"]);
        assert!(monthly[0] < weekly[3] && monthly[0].month() != weekly[3].month());
    }

    #[test]
    fn other_policies_keep_their_counts_and_nothing_is_kept_twice() {
        let start = datetime!(2026-03-01 02:00);
        let backups: Vec<(u32, PrimitiveDateTime)> =
            (0..200).map(|d| (d, start + Duration::days(i64::from(d)))).collect();
        let now = start + Duration::days(200);
        for (daily, weekly, monthly) in [(1, 0, 0), (3, 2, 1), (14, 8, 2), (30, 0, 0), (1, 0, 5)] {
            let plan = plan(&backups, Policy { daily, weekly, monthly }, now);
            assert_eq!(plan.keep.len() as u32, daily + weekly + monthly, "{daily}/{weekly}/{monthly}");
            assert_eq!(plan.keep.len() + plan.delete.len(), backups.len());
        }
        // Fewer backups than the policy would keep: all kept.
        let plan = plan(&backups[..5], Policy::default(), now);
        assert_eq!((plan.keep.len(), plan.delete.len()), (5, 0));
    }

    #[test]
    fn several_backups_of_one_day_keep_only_the_newest_and_future_ones_stay() {
        let at = datetime!(2026-06-10 08:00);
        let backups =
            vec![(1, at), (2, at + Duration::hours(1)), (3, at + Duration::hours(2)), (4, at + Duration::days(3))];
        let plan = plan(&backups, Policy { daily: 1, weekly: 0, monthly: 0 }, at + Duration::hours(3));
        assert_eq!(plan.keep, vec![(4, Tier::Future), (3, Tier::Daily)]);
        assert_eq!(plan.delete, vec![2, 1]);
    }
}
