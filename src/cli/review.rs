//! `trawl review`: the review queue, decisions, the audit log check and item history.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};

use trawl::model::{Category, Lang, Timestamp};
use trawl::review::{self, Action, AuditLog, Decision, ItemFilter, ItemSource as _, Outcome};

/// Review flagged items: queue, decide, verify-log, history.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Pending items, highest score first, near-duplicates grouped under one head item.
    Queue(QueueArgs),
    /// Record a decision on items (appended to the audit log; the index status follows).
    Decide(DecideArgs),
    /// Check the audit log's hash chain; names the first broken line.
    VerifyLog(VerifyArgs),
    /// Who did what to an item, when and why.
    History(HistoryArgs),
}

#[derive(Debug, ClapArgs)]
struct StoreArgs {
    /// The index (or item store) directory; the audit log lives in DIR/review/.
    #[arg(
        long,
        env = "TRAWL_INDEX",
        default_value = "trawl-data/index",
        value_name = "DIR"
    )]
    index: PathBuf,
}

#[derive(Debug, ClapArgs)]
struct QueueArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only items with this category.
    #[arg(long)]
    category: Option<Category>,
    /// Only items in this language (ISO 639-1).
    #[arg(long)]
    lang: Option<Lang>,
    /// Only items on this host.
    #[arg(long)]
    host: Option<String>,
    /// Only items scoring at least this.
    #[arg(long)]
    min_score: Option<f32>,
    /// Hide items this reviewer already decided (the second reviewer's view).
    #[arg(long, env = "TRAWL_REVIEWER")]
    reviewer: Option<String>,
    /// Show escalated items (for supervisors) instead of pending ones.
    #[arg(long)]
    escalated: bool,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["confirm", "reject", "escalate", "override"])))]
struct DecideArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Item ids.
    #[arg(required = true, value_name = "ID")]
    ids: Vec<String>,
    /// The items violate (four-eyes: two different reviewers must confirm).
    #[arg(long)]
    confirm: bool,
    /// The items do not violate.
    #[arg(long)]
    reject: bool,
    /// Hand the items to a supervisor.
    #[arg(long)]
    escalate: bool,
    /// Supervisor override: settle the items as `confirm` or `reject` regardless of earlier
    /// dissent (recorded with the decisions it overrides). Under four-eyes a confirming
    /// override still needs a confirmation by someone other than the supervisor.
    #[arg(long, value_name = "confirm|reject", value_parser = ["confirm", "reject"])]
    r#override: Option<String>,
    /// Who decides.
    #[arg(long, env = "TRAWL_REVIEWER")]
    reviewer: String,
    /// Why (required).
    #[arg(long)]
    reason: String,
    /// Apply to each item's whole near-duplicate cluster.
    #[arg(long)]
    cluster: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, ClapArgs)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Check this log file instead of DIR/review/audit.jsonl.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, ClapArgs)]
struct HistoryArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Item id.
    id: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Wall-clock now, whole seconds (decision and delivery times).
pub fn now() -> Timestamp {
    let t = Timestamp::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Runs `trawl review`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Cmd::Queue(a) => queue(a),
        Cmd::Decide(a) => decide(a),
        Cmd::VerifyLog(a) => verify_log(a),
        Cmd::History(a) => history(a),
    }
}

fn open(store: &StoreArgs) -> anyhow::Result<review::Review<review::DirStore>> {
    let (r, replayed) = review::open_dir(&store.index)
        .with_context(|| format!("opening {}", store.index.display()))?;
    if replayed > 0 {
        eprintln!(
            "trawl: repaired the index status of {replayed} audit record(s) left by an interrupted run"
        );
    }
    Ok(r)
}

fn queue(a: QueueArgs) -> anyhow::Result<ExitCode> {
    let r = open(&a.store)?;
    let filter = ItemFilter {
        status: if a.escalated {
            vec![trawl::model::ReviewStatus::Escalated]
        } else {
            vec![]
        },
        category: a.category,
        lang: a.lang,
        host: a.host.clone(),
        min_score: a.min_score,
        cluster: None,
    };
    let states = r.states()?;
    let mut rows = review::queue::build(r.source(), &states, &filter, a.reviewer.as_deref())?;
    if let Some(n) = a.limit {
        rows.truncate(n);
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("queue empty");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:<18} {:>5} {:>4} {:<4} {:<14} {:<10} URL",
        "ID",
        "SCORE",
        "DUPS",
        "LANG",
        "CATEGORY",
        "CONFIRMED"
    );
    for e in &rows {
        outln!(
            "{:<18} {:>5.2} {:>4} {:<4} {:<14} {:<10} {}",
            e.id,
            e.score,
            e.count,
            e.lang,
            e.categories.first().map(String::as_str).unwrap_or("-"),
            if e.confirmed_by.is_empty() {
                "-".to_string()
            } else {
                e.confirmed_by.join(",")
            },
            e.url
        );
        outln!("    {}", e.excerpt);
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(a: DecideArgs) -> anyhow::Result<ExitCode> {
    let mut r = open(&a.store)?;
    let (action, outcome) = if a.confirm {
        (Action::Confirm, None)
    } else if a.reject {
        (Action::Reject, None)
    } else if a.escalate {
        (Action::Escalate, None)
    } else {
        match a.r#override.as_deref() {
            Some("confirm") => (Action::Override, Some(Outcome::Confirm)),
            Some("reject") => (Action::Override, Some(Outcome::Reject)),
            _ => bail!("one of --confirm, --reject, --escalate, --override is required"),
        }
    };
    let d = r.decide(Decision {
        ids: a.ids,
        action,
        outcome,
        reviewer: a.reviewer,
        reason: a.reason,
        cluster: a.cluster,
        time: now(),
    })?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "recorded #{} {} by {} on {} item(s){}",
        d.record.seq,
        d.record.action,
        d.record.reviewer,
        d.record.items.len(),
        if d.record.cluster { " (cluster)" } else { "" }
    );
    if !d.record.disagrees_with.is_empty() {
        outln!(
            "disagrees with earlier decision(s) #{:?}: recorded; item(s) escalated unless overridden",
            d.record.disagrees_with
        );
    }
    for (id, st) in &d.statuses {
        outln!("{id}\t{st}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_log(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let log = match &a.log {
        Some(p) => AuditLog::at(p),
        None => AuditLog::open(&review::log_dir(&a.store.index))?,
    };
    let rep = log.verify()?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&rep)?);
    } else if rep.ok {
        outln!(
            "{}: ok, {} record(s), chain intact",
            rep.path.display(),
            rep.records
        );
    } else {
        outln!(
            "{}:{}: BROKEN: {} ({} record(s) before it are intact)",
            rep.path.display(),
            rep.broken_line.unwrap_or(0),
            rep.problem.as_deref().unwrap_or("?"),
            rep.records
        );
    }
    Ok(if rep.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn history(a: HistoryArgs) -> anyhow::Result<ExitCode> {
    let r = open(&a.store)?;
    let recs = r.history(&a.id)?;
    let item = r.source().get(&a.id)?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "id": a.id,
                "status": item.as_ref().map(|i| i.status),
                "records": recs,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    match &item {
        Some(i) => outln!(
            "{} {} status={} score={:.2}",
            i.id,
            i.post.url,
            i.status,
            i.verdict.score
        ),
        None => outln!("{} (not in the index)", a.id),
    }
    if recs.is_empty() {
        outln!("no decisions recorded");
    }
    for rec in recs {
        outln!(
            "#{} {} {:<9} by {}{}{}: {}",
            rec.seq,
            trawl::model::rfc3339(rec.time),
            rec.action.as_str(),
            rec.reviewer,
            rec.outcome
                .map(|o| format!(" ({o:?})").to_lowercase())
                .unwrap_or_default(),
            if rec.cluster { " [cluster]" } else { "" },
            review::queue::excerpt(&rec.reason, 200)
        );
    }
    Ok(ExitCode::SUCCESS)
}
