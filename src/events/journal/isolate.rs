//! A batch that failed for a reason other than a stalled database (typically one run's
//! write colliding with the reaper's after its lease was lost) is written again part by
//! part, so that one bad write cannot take the other runs' writes down with it.

use super::write::{write, Parts};
use super::{claimed_runs, created_run, end, paused_run, stop, Batch};
use crate::events::bus::Bus;
use sea_orm::DatabaseConnection;
use std::collections::HashSet;

impl Batch {
    /// Writes the parts of a failed batch one by one.
    pub(super) async fn write_one_by_one(
        self,
        db: &DatabaseConnection,
        bus: &Bus,
        broken: &mut HashSet<String>,
    ) {
        let mut created = false;
        for c in self.creates {
            let parts = Parts {
                runs: vec![(&c.run, &*c.event)],
                ..Parts::default()
            };
            let res = write(db, &parts).await.map(|_| ());
            drop(parts);
            created |= res.is_ok();
            created_run(bus, c, res);
        }
        if created {
            bus.notify_work();
        }
        for step in &self.steps {
            let parts = Parts {
                steps: vec![step],
                ..Parts::default()
            };
            if let Err(err) = write(db, &parts).await {
                tracing::warn!(error = %err, step_id = %step.id, run_id = %step.run_id, "could not record a run step; stopping the run");
                stop(bus, broken, &step.run_id);
            }
        }
        for event in self.events {
            if broken.contains(&event.run_id) {
                continue;
            }
            let parts = Parts {
                events: vec![&*event],
                ..Parts::default()
            };
            let res = write(db, &parts).await;
            drop(parts);
            match res {
                Ok(_) => bus.publish_event(event),
                Err(err) => {
                    tracing::warn!(error = %err, run_id = %event.run_id, seq = event.seq, "could not record a run event (another instance may have ended the run); stopping it");
                    stop(bus, broken, &event.run_id);
                }
            }
        }
        for f in self.finishes {
            let parts = Parts {
                ends: vec![(&f.run, &f.owner, &*f.event)],
                ..Parts::default()
            };
            let res = write(db, &parts).await.map(|w| {
                if w.deliveries > 0 {
                    bus.notify_deliveries();
                }
                w.kept[0]
            });
            drop(parts);
            if res.is_ok() {
                broken.remove(&f.run.id);
            }
            end(bus, f, res);
        }
        for p in self.pauses {
            let parts = Parts {
                pauses: vec![(&p.run, &p.owner, &p.gate, &*p.event)],
                ..Parts::default()
            };
            let res = write(db, &parts).await.map(|w| {
                if w.deliveries > 0 {
                    bus.notify_deliveries();
                }
                w.paused[0]
            });
            drop(parts);
            paused_run(bus, p, res);
        }
        for c in self.claims {
            let parts = Parts {
                claims: vec![(&c.owner, c.limit_now())],
                ..Parts::default()
            };
            let res = write(db, &parts).await;
            drop(parts);
            let res = res.map(|mut w| w.claimed.pop().unwrap_or_default());
            claimed_runs(bus, c, res);
        }
    }
}
