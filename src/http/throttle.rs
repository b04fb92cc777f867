//! At most one log line per interval for events that can repeat thousands of times a second
//! (accept failing with EMFILE, connections refused over a cap): the first occurrence is logged
//! at once, later ones are counted and reported with the next line, so the log stays readable
//! and the count stays exact.

use std::time::{Duration, Instant};

pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub fn new(every: Duration) -> Self {
        Throttle {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// Once per second.
    pub fn per_second() -> Self {
        Self::new(Duration::from_secs(1))
    }

    /// `Some(n)` when this occurrence should be logged, `n` being how many were swallowed since
    /// the last line; `None` when it should only be counted.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_of_the_rest() {
        let mut t = Throttle::per_second();
        let t0 = Instant::now();
        assert_eq!(t.hit(t0), Some(0));
        // Ten a second, as the old accept loop logged: swallowed but counted.
        for i in 1..10 {
            assert_eq!(t.hit(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(t.hit(t0 + Duration::from_millis(1000)), Some(9));
        assert_eq!(t.hit(t0 + Duration::from_millis(1500)), None);
        assert_eq!(t.hit(t0 + Duration::from_secs(5)), Some(1));
    }
}
