//! `lore ask`: streams the answer to the terminal, then its sources and grounding.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use lore_rag::{Answer, AnswerEvent, AnswerRequest};

use crate::cli::AskArgs;
use crate::context::Ctx;

pub fn ask(g: &Ctx, a: AskArgs) -> Result<ExitCode> {
    let mut engine = g.engine()?;
    if let Some(model) = a.llm_model {
        engine.config_mut().llm.embedded_model = model;
    }
    if let Some(action) = a.grounding {
        engine.config_mut().llm.grounding.action = action;
    }
    let default_collection = if a.route {
        g.settings().server.default_collection.clone()
    } else {
        "memory".into()
    };
    let mut req = AnswerRequest {
        question: a.question,
        collection: a.collection.first().cloned().unwrap_or(default_collection),
        more_collections: a
            .collection
            .get(1..)
            .map(<[String]>::to_vec)
            .unwrap_or_default(),
        memory: a.memory,
        top_k: a.top_k,
        mode: a.mode,
        filters: a.filters,
        generator: a.generator,
        prompt: a.prompt,
        // The command line reads the data dir itself: it has all of it.
        access: lore_core::Access::all(),
        routed: a.route,
        ..AnswerRequest::new(String::new(), String::new())
    };
    let json = g.json;
    let mut out = std::io::stdout().lock();
    let start = std::time::Instant::now();
    if let Some((info, Some(message))) = engine.apply_route(&mut req)? {
        let answer = Answer::refused(message, info, start.elapsed().as_secs_f64() * 1e3);
        if json {
            writeln!(out, "{}", serde_json::to_string(&answer)?)?;
        } else {
            writeln!(out, "{}", answer.answer)?;
            print_route(&mut out, &answer)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // `[routing] tier_by`: the tier by complexity or the learned router (none named here).
    if let Some(c) = engine.choose_tier(&mut req)? {
        if !json {
            eprintln!(
                "tier {} ({} score {:.2}, threshold {:.2})",
                c.tier, c.by, c.score, c.threshold
            );
        }
    }
    let answer = engine.answer(&req, &mut |event| {
        if json {
            return;
        }
        match event {
            AnswerEvent::Retrieved(_) => {}
            AnswerEvent::Token(t) => {
                let _ = out.write_all(t.as_bytes());
                let _ = out.flush();
            }
            AnswerEvent::Notice(n) => eprintln!("\nnote: {n}"),
        }
    })?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&answer)?)?;
    } else {
        writeln!(out)?;
        print_sources(&mut out, &answer)?;
        print_route(&mut out, &answer)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_route(out: &mut impl Write, a: &Answer) -> Result<()> {
    let Some(r) = &a.route else { return Ok(()) };
    let what = match &r.name {
        Some(n) => format!("route `{n}`"),
        None => format!(
            "out of scope ({})",
            r.out_of_scope.as_deref().unwrap_or("no route")
        ),
    };
    writeln!(
        out,
        "
{what}, probability {:.2}, routes version {}{}{}",
        r.confidence,
        r.version,
        if r.collections.is_empty() {
            String::new()
        } else {
            format!(", collections {}", r.collections.join(","))
        },
        if r.filters_added.is_empty() {
            String::new()
        } else {
            format!(", filters added {}", r.filters_added.join(" "))
        },
    )?;
    Ok(())
}

fn print_sources(out: &mut impl Write, a: &Answer) -> Result<()> {
    // The streamed text is the raw generation; say what changed after checking it.
    if !a.invented_citations.is_empty() {
        writeln!(
            out,
            "\n(removed citation markers that point at no passage: {:?})",
            a.invented_citations
        )?;
    }
    if let Some(g) = &a.grounding {
        let unsupported: Vec<_> = g.sentences.iter().filter(|s| !s.supported).collect();
        if !unsupported.is_empty() {
            writeln!(
                out,
                "\nNot supported by the passages ({} of {} sentences):",
                unsupported.len(),
                g.sentences.len()
            )?;
            for s in unsupported {
                let missing = if s.missing.is_empty() {
                    String::new()
                } else {
                    format!("; not in the passages: {}", s.missing.join(", "))
                };
                writeln!(
                    out,
                    "  - {} (similarity {:.2}{missing})",
                    s.text, s.similarity
                )?;
            }
        }
    }
    if a.context.is_empty() {
        // Nothing was retrieved: the answer says so, there are no sources to list.
    } else if a.citations.is_empty() {
        // Not citations: the passages the model was given, and which of them hold the
        // closest sentence to each supported sentence of the answer (the grounding evidence).
        writeln!(out, "\nNo citations. Context given to the model:")?;
        for c in &a.context {
            let supports = a.grounding.as_ref().map_or(0, |g| {
                g.sentences
                    .iter()
                    .filter(|s| s.supported && !s.abstains && s.evidence == Some(c.n))
                    .count()
            });
            let note = if supports > 0 {
                format!("  — closest passage to {supports} supported sentence(s)")
            } else {
                String::new()
            };
            writeln!(
                out,
                "  [{}] {}  (chunk {}){note}",
                c.n,
                c.label(),
                c.chunk_id
            )?;
        }
    } else {
        writeln!(out, "\nSources:")?;
        for c in &a.citations {
            writeln!(out, "  [{}] {}  (chunk {})", c.n, c.label(), c.chunk_id)?;
        }
    }
    out.flush()?;
    let t = &a.timings_ms;
    let grounding = a
        .grounding
        .as_ref()
        .map_or(String::new(), |g| format!(", grounding {:.2}", g.score));
    eprintln!(
        "{} {} · {} prompt + {} completion tokens · retrieve {:.0} ms, first token {:.0} ms, generate {:.0} ms, total {:.0} ms{grounding}",
        a.generator, a.model, a.usage.prompt_tokens, a.usage.completion_tokens, t.retrieve, t.ttft, t.generate, t.total
    );
    Ok(())
}
