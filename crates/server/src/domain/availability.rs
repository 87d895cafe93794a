//! Availability as people write it (`PUT /v1/me/availability`): weekly hours in their own time
//! zone, date overrides, buffers, minimum notice, maximum per day, a booking window; checked
//! once and turned into the slot generator's [`Rules`].

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::slots::{hhmm, parse_day, parse_hhmm, Hours, Rules, DAYS};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most hour ranges per day, and most overrides.
const MAX_RANGES: usize = 8;
const MAX_OVERRIDES: usize = 366;

/// Hours of one weekday.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    /// `mon` ... `sun`.
    pub day: String,
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM` (up to `24:00`), after `start`.
    pub end: String,
}

/// A range of local hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HoursRange {
    pub start: String,
    pub end: String,
}

/// Other hours on one date (empty `hours`: not available that day).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DateOverride {
    /// `YYYY-MM-DD`, local date.
    pub date: String,
    #[serde(default)]
    pub hours: Vec<HoursRange>,
}

/// `PUT /v1/me/availability` (and its answer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// An IANA time zone (`Europe/London`).
    pub time_zone: String,
    #[serde(default)]
    pub weekly: Vec<WeeklyHours>,
    #[serde(default)]
    pub overrides: Vec<DateOverride>,
    /// Free time kept before and after each booking (0 to 240).
    #[serde(default)]
    pub buffer_minutes: u32,
    /// No slot starts sooner than this after now (0 to 43,200).
    #[serde(default)]
    pub min_notice_minutes: u32,
    /// Most bookings on one local day (0: no limit).
    #[serde(default)]
    pub max_per_day: u32,
    /// How far ahead slots are offered, in days (1 to 365; default 60).
    #[serde(default = "default_window")]
    pub window_days: u32,
}

fn default_window() -> u32 {
    60
}

fn range(start: &str, end: &str, what: &str) -> DomainResult<Hours> {
    let (Some(s), Some(e)) = (parse_hhmm(start), parse_hhmm(end)) else {
        return Err(DomainError::invalid(format!(
            "{what}: times are HH:MM from 00:00 to 24:00"
        )));
    };
    if s >= e {
        return Err(DomainError::invalid(format!(
            "{what}: end must be after start"
        )));
    }
    Ok(Hours { start: s, end: e })
}

/// A time zone by its IANA name.
pub fn zone(name: &str) -> DomainResult<TimeZone> {
    if name.is_empty() || name.len() > 64 {
        return Err(DomainError::invalid("time_zone must be an IANA time zone"));
    }
    TimeZone::get(name).map_err(|_| DomainError::invalid(format!("unknown time_zone {name:?}")))
}

impl Availability {
    /// Checks every field; the generator's rules.
    pub fn rules(&self) -> DomainResult<Rules> {
        let zone = zone(&self.time_zone)?;
        let mut weekly: [Vec<Hours>; 7] = Default::default();
        if self.weekly.len() > 7 * MAX_RANGES {
            return Err(DomainError::invalid("too many weekly hours"));
        }
        for w in &self.weekly {
            let Some(d) = parse_day(&w.day) else {
                return Err(DomainError::invalid("weekly day is mon, tue, ... sun"));
            };
            weekly[d].push(range(&w.start, &w.end, "weekly hours")?);
        }
        if self.overrides.len() > MAX_OVERRIDES {
            return Err(DomainError::invalid("too many overrides"));
        }
        let mut overrides = Vec::with_capacity(self.overrides.len());
        for o in &self.overrides {
            let date: Date = o
                .date
                .parse()
                .map_err(|_| DomainError::invalid("override date is YYYY-MM-DD"))?;
            if o.hours.len() > MAX_RANGES {
                return Err(DomainError::invalid("too many hours in an override"));
            }
            let hours = o
                .hours
                .iter()
                .map(|h| range(&h.start, &h.end, "override hours"))
                .collect::<DomainResult<Vec<_>>>()?;
            overrides.push((date, hours));
        }
        for day in weekly
            .iter_mut()
            .chain(overrides.iter_mut().map(|(_, h)| h))
        {
            if day.len() > MAX_RANGES {
                return Err(DomainError::invalid("too many hours in one day"));
            }
            day.sort_by_key(|h| h.start);
            if day.windows(2).any(|w| w[1].start < w[0].end) {
                return Err(DomainError::invalid("hours of one day overlap"));
            }
        }
        if self.buffer_minutes > 240 {
            return Err(DomainError::invalid("buffer_minutes is 0 to 240"));
        }
        if self.min_notice_minutes > 43_200 {
            return Err(DomainError::invalid("min_notice_minutes is 0 to 43200"));
        }
        if !(1..=365).contains(&self.window_days) {
            return Err(DomainError::invalid("window_days is 1 to 365"));
        }
        if self.max_per_day > 48 {
            return Err(DomainError::invalid("max_per_day is 0 to 48"));
        }
        Ok(Rules {
            zone,
            weekly,
            overrides,
            buffer_minutes: i64::from(self.buffer_minutes),
            min_notice_minutes: i64::from(self.min_notice_minutes),
            max_per_day: self.max_per_day,
            window_days: i64::from(self.window_days),
        })
    }

    /// The same availability written the canonical way (days in order, `HH:MM`).
    pub fn normalized(&self) -> DomainResult<Availability> {
        let r = self.rules()?;
        let mut weekly = Vec::new();
        for (i, hours) in r.weekly.iter().enumerate() {
            for h in hours {
                weekly.push(WeeklyHours {
                    day: DAYS[i].into(),
                    start: hhmm(h.start),
                    end: hhmm(h.end),
                });
            }
        }
        let mut overrides: Vec<DateOverride> = r
            .overrides
            .iter()
            .map(|(d, hours)| DateOverride {
                date: d.to_string(),
                hours: hours
                    .iter()
                    .map(|h| HoursRange {
                        start: hhmm(h.start),
                        end: hhmm(h.end),
                    })
                    .collect(),
            })
            .collect();
        overrides.sort_by(|a, b| a.date.cmp(&b.date));
        overrides.dedup_by(|a, b| a.date == b.date);
        Ok(Availability {
            time_zone: self.time_zone.clone(),
            weekly,
            overrides,
            ..self.clone()
        })
    }
}
