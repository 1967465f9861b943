//! Jobs that wait for other jobs (`after = [...]`) form a graph; it must have no cycle.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use super::Job;

/// The jobs in dependency order, or the jobs of a cycle (in order) if there is one.
pub fn order(jobs: &[Job]) -> Result<Vec<usize>, Vec<usize>> {
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(jobs.len(), jobs.len());
    let nodes: Vec<NodeIndex> = (0..jobs.len()).map(|i| g.add_node(i)).collect();
    for (i, j) in jobs.iter().enumerate() {
        for &a in &j.after {
            g.add_edge(nodes[a], nodes[i], ());
        }
    }
    match toposort(&g, None) {
        Ok(order) => Ok(order.into_iter().map(|n| g[n]).collect()),
        Err(cycle) => Err(find_cycle(jobs, g[cycle.node_id()])),
    }
}

/// A cycle through `start` (following `after` edges backwards: job → the job it waits for).
fn find_cycle(jobs: &[Job], start: usize) -> Vec<usize> {
    fn dfs(
        jobs: &[Job],
        at: usize,
        start: usize,
        path: &mut Vec<usize>,
        seen: &mut [bool],
    ) -> bool {
        for &next in &jobs[at].after {
            if next == start {
                return true;
            }
            if !seen[next] {
                seen[next] = true;
                path.push(next);
                if dfs(jobs, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = vec![false; jobs.len()];
    seen[start] = true;
    if dfs(jobs, start, start, &mut path, &mut seen) {
        return path;
    }
    vec![start]
}
