//! A flat evaluator for LightGBM's text model (numerical splits only), for batch
//! scoring: the trees are read once into arrays and rows are scored in parallel chunks
//! on scoped threads. It reproduces LightGBM's decision rule (NaN -> 0 unless the split
//! handles NaN, the zero / NaN default direction, `x <= threshold` goes left), its
//! in-order sum of leaf values and its sigmoid, so scores are bit-identical to the
//! booster's (tested); a model it cannot read (categorical splits, linear trees,
//! several classes) returns `None` and LightGBM itself scores it.

/// Rows per thread below which one thread scores the whole batch.
const ROWS_PER_THREAD_MIN: usize = 4_096;
/// Rows scored together, tree by tree, so one tree stays in cache across the block (each
/// row still sums its trees in order: the result does not depend on the block size).
const BLOCK_ROWS: usize = 256;
/// LightGBM's `kZeroThreshold`.
const ZERO_THRESHOLD: f64 = 1e-35;

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    feature: Vec<usize>,
    threshold: Vec<f64>,
    /// bit 1: default left; bits 2-3: missing type (0 none, 1 zero, 2 NaN).
    decision: Vec<u8>,
    left: Vec<i32>,
    right: Vec<i32>,
    leaf: Vec<f64>,
}

/// One split, packed (one cache line holds a few).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    left: i32,
    right: i32,
    decision: u8,
}

/// A tree as packed nodes; a one-leaf tree has no nodes.
#[derive(Debug, Clone, PartialEq)]
struct Packed {
    nodes: Vec<Node>,
    leaf: Vec<f64>,
}

impl Packed {
    fn new(t: Tree) -> Packed {
        let nodes = (0..t.feature.len())
            .map(|n| Node {
                threshold: t.threshold[n],
                feature: t.feature[n] as u32,
                left: t.left[n],
                right: t.right[n],
                decision: t.decision[n],
            })
            .collect();
        Packed { nodes, leaf: t.leaf }
    }

    #[inline]
    fn value(&self, row: &[f64]) -> f64 {
        if self.nodes.is_empty() {
            return self.leaf[0];
        }
        let mut node = 0i32;
        while node >= 0 {
            let n = &self.nodes[node as usize];
            let missing = (n.decision >> 2) & 3;
            let mut x = row[n.feature as usize];
            if x.is_nan() && missing != 2 {
                x = 0.0;
            }
            let to_default = (missing == 1 && x.abs() <= ZERO_THRESHOLD) || (missing == 2 && x.is_nan());
            let left = if to_default { n.decision & 2 != 0 } else { x <= n.threshold };
            node = if left { n.left } else { n.right };
        }
        self.leaf[!node as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    trees: Vec<Packed>,
    /// `Some(s)` for a binary model: the output is `1 / (1 + exp(-s * raw))`.
    sigmoid: Option<f64>,
    cols: usize,
}

fn values<T: std::str::FromStr>(line: Option<&&str>) -> Option<Vec<T>> {
    line?.split_once('=')?.1.split(' ').filter(|s| !s.is_empty()).map(|v| v.parse().ok()).collect()
}

fn tree(lines: &[&str]) -> Option<Tree> {
    let get = |key: &str| lines.iter().find(|l| l.split_once('=').is_some_and(|(k, _)| k == key));
    if get("num_cat").is_some_and(|l| !l.ends_with("=0")) || get("is_linear").is_some_and(|l| !l.ends_with("=0")) {
        return None;
    }
    let leaf: Vec<f64> = values(get("leaf_value"))?;
    if leaf.len() == 1 {
        return Some(Tree { feature: vec![], threshold: vec![], decision: vec![], left: vec![], right: vec![], leaf });
    }
    let t = Tree {
        feature: values(get("split_feature"))?,
        threshold: values(get("threshold"))?,
        decision: values(get("decision_type"))?,
        left: values(get("left_child"))?,
        right: values(get("right_child"))?,
        leaf,
    };
    let n = t.feature.len();
    let ok = [t.threshold.len(), t.decision.len(), t.left.len(), t.right.len()].iter().all(|&l| l == n) && t.leaf.len() == n + 1;
    (ok && t.decision.iter().all(|d| d & 1 == 0)).then_some(t)
}

impl Forest {
    /// Reads a LightGBM text model; `None` for what this evaluator does not cover.
    pub fn parse(text: &str, cols: usize) -> Option<Forest> {
        let lines: Vec<&str> = text.lines().collect();
        let header = |key: &str| lines.iter().find_map(|l| l.strip_prefix(key));
        if header("num_class=")? != "1" || header("num_tree_per_iteration=")? != "1" || header("average_output").is_some() {
            return None;
        }
        let objective = header("objective=")?;
        let sigmoid = match objective.split(' ').next()? {
            "binary" => Some(objective.split(' ').find_map(|p| p.strip_prefix("sigmoid:"))?.parse().ok()?),
            "regression" => None,
            _ => return None,
        };
        let starts: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("Tree=")).collect();
        let mut trees = Vec::with_capacity(starts.len());
        for (k, &s) in starts.iter().enumerate() {
            let end = starts
                .get(k + 1)
                .copied()
                .unwrap_or_else(|| lines[s..].iter().position(|l| l.starts_with("end of trees")).map_or(lines.len(), |p| s + p));
            trees.push(Packed::new(tree(&lines[s + 1..end])?));
        }
        let in_range = trees.iter().all(|t| t.nodes.iter().all(|n| (n.feature as usize) < cols));
        (!trees.is_empty() && in_range).then_some(Forest { trees, sigmoid, cols })
    }

    fn finish(&self, raw: f64) -> f64 {
        match self.sigmoid {
            Some(s) => 1.0 / (1.0 + (-s * raw).exp()),
            None => raw,
        }
    }

    /// Scores the rows of `x` into `out`, a block of rows at a time, tree by tree.
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        let cols = self.cols;
        for (b, block) in out.chunks_mut(BLOCK_ROWS).enumerate() {
            block.fill(0.0);
            let rows = &x[b * BLOCK_ROWS * cols..];
            for t in &self.trees {
                for (r, o) in block.iter_mut().enumerate() {
                    *o += t.value(&rows[r * cols..(r + 1) * cols]);
                }
            }
            for o in block.iter_mut() {
                *o = self.finish(*o);
            }
        }
    }

    /// One score per row of `x` (row-major), on up to `threads` scoped threads.
    pub fn predict(&self, x: &[f64], threads: usize) -> Vec<f64> {
        let rows = x.len() / self.cols;
        let threads = threads.clamp(1, rows.div_ceil(ROWS_PER_THREAD_MIN).max(1));
        let mut out = vec![0.0; rows];
        let chunk = rows.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (k, part) in out.chunks_mut(chunk).enumerate() {
                let xs = &x[k * chunk * self.cols..];
                s.spawn(move || self.score_into(xs, part));
            }
        });
        out
    }
}
