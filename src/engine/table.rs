//! The task table: a generational slab, so that looking a task up is an index, not a search.
//!
//! A [`TaskId`] is `generation << 32 | slot`. A slot is reused after its task is removed, with
//! the next generation, so an id is never reused and a late report about a removed task misses.
//! Memory is O(live tasks); the slab never shrinks below its high-water mark.

use serde::{Deserialize, Serialize};

use super::task::{ContainerState, Task};
use super::types::TaskId;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Slot {
    generation: u32,
    task: Option<Task>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TaskTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
    /// Container vectors of discarded tasks, reused by new ones: a month-long simulation
    /// creates millions of tasks, and this saves an allocation and a free per task. Not state.
    #[serde(skip)]
    spare: Vec<Vec<ContainerState>>,
}

fn split(id: TaskId) -> (usize, u32) {
    ((id.0 & 0xFFFF_FFFF) as usize, (id.0 >> 32) as u32)
}

impl TaskTable {
    /// The id the next inserted task will get.
    pub fn next_id(&self) -> TaskId {
        let slot = self.free.last().copied().unwrap_or(self.slots.len() as u32);
        let generation = self.slots.get(slot as usize).map_or(0, |s| s.generation);
        TaskId(((generation as u64) << 32) | slot as u64)
    }

    /// Inserts a task whose id is [`TaskTable::next_id`].
    pub fn insert(&mut self, task: Task) {
        debug_assert_eq!(task.id, self.next_id());
        let (slot, _) = split(task.id);
        if slot == self.slots.len() {
            self.slots.push(Slot { generation: 0, task: Some(task) });
        } else {
            self.free.pop();
            self.slots[slot].task = Some(task);
        }
        self.len += 1;
    }

    pub fn get(&self, id: TaskId) -> Option<&Task> {
        let (slot, generation) = split(id);
        let s = self.slots.get(slot)?;
        if s.generation != generation {
            return None;
        }
        s.task.as_ref()
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        let (slot, generation) = split(id);
        let s = self.slots.get_mut(slot)?;
        if s.generation != generation {
            return None;
        }
        s.task.as_mut()
    }

    pub fn contains(&self, id: TaskId) -> bool {
        self.get(id).is_some()
    }

    pub fn remove(&mut self, id: TaskId) -> Option<Task> {
        let (slot, generation) = split(id);
        let s = self.slots.get_mut(slot)?;
        if s.generation != generation {
            return None;
        }
        let t = s.task.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot as u32);
        self.len -= 1;
        Some(t)
    }

    /// `n` fresh container states, in a recycled vector when one is spare.
    pub fn new_containers(&mut self, n: usize) -> Vec<ContainerState> {
        let mut v = self.spare.pop().unwrap_or_default();
        v.extend((0..n).map(|_| ContainerState::new()));
        v
    }

    /// Removes a task for good, keeping its container vector for [`TaskTable::new_containers`].
    pub fn discard(&mut self, id: TaskId) {
        if let Some(mut t) = self.remove(id) {
            t.containers.clear();
            if self.spare.len() < 1024 {
                self.spare.push(std::mem::take(&mut t.containers));
            }
        }
    }

    /// Asks the CPU to start loading a task's slot into cache (see [`prefetch_bytes`]).
    pub fn prefetch(&self, id: TaskId) {
        if let Some(s) = self.slots.get(split(id).0) {
            prefetch_bytes(s as *const Slot as *const u8, std::mem::size_of::<Slot>());
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Every task, in slot order (not creation order).
    pub fn iter(&self) -> impl Iterator<Item = &Task> {
        self.slots.iter().filter_map(|s| s.task.as_ref())
    }

    /// Every task in creation order.
    pub fn in_order(&self) -> Vec<&Task> {
        let mut v: Vec<&Task> = self.iter().collect();
        v.sort_by_key(|t| t.seq);
        v
    }
}

/// Starts loading `len` bytes at `p` into the cache without waiting for them (a hint: no
/// effect on results, and a no-op off x86-64).
///
/// The simulator's time goes mostly to cache misses: with 10,000 live tasks, the task an event
/// is about was last touched long ago. The simulator knows the next event while it handles the
/// current one, and prefetches that event's task so the load overlaps with the current work.
#[inline]
pub(crate) fn prefetch_bytes(p: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < len {
            // A prefetch never faults and reads nothing the program can see, whatever the
            // address; `wrapping_add` keeps the pointer arithmetic defined.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off) as *const i8)
            };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}
