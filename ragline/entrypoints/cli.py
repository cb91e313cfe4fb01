"""The `ragline` command line: thin commands over the engine built by `ragline.bootstrap`."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ragline.api import QueryResponse
from ragline.bootstrap import Engine, build_engine
from ragline.config import SearchMode, Settings, load_settings
from ragline.conversation import session_problem
from ragline.entrypoints.display import short_names
from ragline.entrypoints.drift_cli import drift_app
from ragline.errors import RaglineError
from ragline.filters import parse_filter_expressions
from ragline.ingest import IngestReport
from ragline.ingest import Progress as IngestProgress
from ragline.model import Answer, DocumentCard, DocumentState, DocumentStatus
from ragline.prompt import format_pages

app = typer.Typer(help="Retrieval-augmented answers over your PDFs, with page citations.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

DEMO_CORPUS = Path(__file__).resolve().parents[2] / "demo" / "corpus"
DEMO_QUESTIONS = DEMO_CORPUS.parent / "questions.txt"

STATE_STYLES = {
    DocumentState.INDEXED: "green",
    DocumentState.UNCHANGED: "cyan",
    DocumentState.DUPLICATE: "cyan",
    DocumentState.DELETED: "yellow",
    DocumentState.FAILED: "bold red",
}


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as error:
        errors.print(f"[bold red]configuration error:[/] {escape(_invalid(error))}")
        raise typer.Exit(2) from error


def _engine(settings: Settings | None = None) -> Engine:
    try:
        return build_engine(settings or _settings())
    except RaglineError as error:
        errors.print(f"[bold red]configuration error:[/] {error}")
        raise typer.Exit(2) from error


@app.callback()
def _logging(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


class PagesPerSecond(ProgressColumn):
    """Pages per second since the start: the throughput users compare ingest runs by."""

    def render(self, task: Task) -> Text:
        pages = task.fields.get("pages", 0)
        elapsed = task.elapsed or 0.0
        rate = pages / elapsed if elapsed > 0 else 0.0
        return Text(f"{pages} pages, {rate:.1f} pages/s", style="progress.data.speed")


def _ingest_with_progress(engine: Engine, paths: list[Path], *, sync: bool, tags: list[str]) -> IngestReport:
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        PagesPerSecond(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=console,
        transient=False,
    ) as progress:
        total = len(engine.ingestion.discover(paths))
        task = progress.add_task("ingest", total=total, pages=0, current="")

        def advance(event: IngestProgress) -> None:
            pages = progress.tasks[task].fields["pages"] + (event.pages if event.state is DocumentState.INDEXED else 0)
            progress.update(task, advance=1, pages=pages, current=Path(event.source).name[:40])

        return engine.ingest(paths, sync=sync, tags=tags, on_progress=advance)


def _print_report(report: IngestReport) -> None:
    table = Table(title="Ingestion summary", show_lines=False)
    for column in ("file", "status", "pages", "chunks", "reason"):
        table.add_column(column, overflow="fold")
    for outcome in report.outcomes:
        status = outcome.status
        table.add_row(
            Path(status.source).name,
            Text(status.state.value, style=STATE_STYLES[status.state]),
            str(status.page_count or ""),
            str(status.chunk_count),
            _reason(status.reason, status.scanned_pages),
        )
    for skipped in report.skipped:
        table.add_row(Path(skipped.source).name, Text("skipped", style="dim"), "", "", skipped.reason)
    console.print(table)
    counts = ", ".join(f"{report.count(state)} {state.value}" for state in DocumentState if report.count(state))
    skipped = f"; {len(report.skipped)} skipped" if report.skipped else ""
    console.print(
        f"{len(report.outcomes)} files: {counts or 'nothing to do'}{skipped}; "
        f"{report.chunks} chunks from {report.pages} pages"
    )


def _reason(reason: str | None, scanned_pages: tuple[int, ...]) -> str:
    notes = [reason] if reason else []
    if scanned_pages:
        notes.append(f"no text layer on page(s) {', '.join(map(str, scanned_pages[:10]))}")
    return "; ".join(notes)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (searched recursively) to ingest.")],
    sync: Annotated[bool, typer.Option(help="Remove documents that are gone from the given folders.")] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag every ingested document (repeatable).")] = None,
) -> None:
    """Extract, chunk, embed and index documents; unchanged files are skipped."""
    engine = _engine()
    try:
        report = _ingest_with_progress(engine, paths, sync=sync, tags=tag or [])
        _print_report(report)
    finally:
        engine.close()
    if report.failed:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer from the documents.")],
    k: Annotated[int | None, typer.Option("--k", "-k", help="Sources to retrieve (default from config).")] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            "-f",
            help="source=GLOB, tag=NAME, page=N..M, date>=YYYY-MM-DD, issuer=TEXT, period=YYYY[-MM[-DD]], "
            "type=10-K|10-Q|8-K|... (repeatable).",
        ),
    ] = None,
    mode: Annotated[SearchMode | None, typer.Option(help="Retrieval mode (default from config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer and its sources as JSON.")] = False,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            "-s",
            help="Conversation id (letters, digits, - and _): a follow-up of its earlier turns; a new id starts one.",
        ),
    ] = None,
) -> None:
    """Answer a question with citations to file and page."""
    try:
        where = parse_filter_expressions(filter_ or [])
    except ValueError as error:
        errors.print(f"[bold red]--filter:[/] {escape(_invalid(error))}")
        raise typer.Exit(2) from error
    if session is not None and (problem := session_problem(session)):
        errors.print(f"[bold red]--session:[/] {escape(problem)}")
        raise typer.Exit(2)
    engine = _engine()
    try:
        if session is None:
            response = QueryResponse.from_answer(engine.ask(question, k=k, mode=mode, where=where))
        else:
            response = QueryResponse.from_conversation(engine.converse(session, question, k=k, mode=mode, where=where))
    except RaglineError as error:
        errors.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from error
    finally:
        engine.close()
    if as_json:
        sys.stdout.write(response.model_dump_json(indent=2) + "\n")
    else:
        _print_response(response)


def _invalid(error: ValueError) -> str:
    """One line per invalid field, without pydantic's type names and links."""
    if not isinstance(error, ValidationError):
        return str(error)
    return "; ".join(
        f"{'.'.join(map(str, item['loc'])) or 'filter'}: {item['msg'].removeprefix('Value error, ')}"
        for item in error.errors()
    )


def _print_response(response: QueryResponse) -> None:
    """An answer as `print_answer` shows it, with its conversation and the question retrieval read."""
    console.print(f"[bold]Q:[/] {escape(response.question)}")
    if response.standalone_question is not None and response.standalone_question != response.question:
        console.print(f"[dim]read as:[/] {escape(response.standalone_question)}")
    console.print(f"[bold]A:[/] {escape(response.answer)}")
    table = Table(show_header=True, box=None, padding=(0, 1))
    for column in ("#", "file", "page", "score", "similarity"):
        table.add_column(column)
    for source in response.sources:
        table.add_row(
            f"[{source.number}]",
            Path(source.source).name,
            format_pages(source.pages),
            f"{source.score:.3f}",
            f"{source.similarity:.3f}",
        )
    console.print(table)
    if response.session is not None:
        console.print(f"[dim]session {escape(response.session)}[/]")


def print_answer(answer: Answer) -> None:
    _print_response(QueryResponse.from_answer(answer))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON, with full paths.")] = False,
) -> None:
    """Show every document the registry knows, with its state and chunk count."""
    engine = _engine()
    try:
        rows = engine.status()
        chunks = engine.index.count()
    finally:
        engine.close()
    if as_json:
        documents = [{**dataclasses.asdict(row), "state": row.state.value} for row in rows]
        sys.stdout.write(json.dumps({"chunks": chunks, "documents": documents}, indent=2) + "\n")
        return
    folder, names = short_names([row.source for row in rows])
    where = f" under {folder}" if folder else ""
    table = Table(title=f"Registry: {len(rows)} documents{where}, {chunks} chunks indexed")
    for column in ("source", "status", "pages", "chunks", "updated", "reason"):
        table.add_column(column, overflow="fold")
    for row, name in zip(rows, names, strict=True):
        table.add_row(
            _source_cell(name, row.card),
            Text(row.state.value, style=STATE_STYLES[row.state]),
            str(row.page_count or ""),
            str(row.chunk_count),
            row.updated_at or "",
            _short_reason(row, folder),
        )
    console.print(table)


def _source_cell(name: str, card: DocumentCard | None) -> Text:
    """The source, and under it who, what and when as the document card says (README: document cards)."""
    cell = Text(name)
    if card is not None:
        cell.append("\n" + " · ".join(part for part in (card.issuer, card.doc_type, card.period) if part), style="dim")
    return cell


def _short_reason(row: DocumentStatus, folder: str) -> str:
    """A reason may name another file ("same content as ..."): by the same short name as the table."""
    reason = _reason(row.reason, row.scanned_pages)
    return reason.replace(f"{folder}/", "") if folder.strip("/") else reason


@app.command()
def delete(sources: Annotated[list[str], typer.Argument(help="Sources (paths) to remove from the index.")]) -> None:
    """Remove documents and their chunks from the index and the registry."""
    engine = _engine()
    missing = 0
    try:
        for source in sources:
            resolved = Path(os.path.abspath(source)).as_posix() if "://" not in source else source
            known = engine.registry.get(resolved) or engine.registry.get(source)
            name = known.source if known else next((s for s in (resolved, source) if engine.index.count(s)), None)
            if name is None:
                errors.print(f"[yellow]{source}: not in the registry and no chunks in the index[/]")
                missing += 1
                continue
            removed = engine.delete(name)
            console.print(f"deleted {name}: {removed} chunks removed{_still_served(engine, known)}", soft_wrap=True)
    finally:
        engine.close()
    if missing:
        raise typer.Exit(1)


def _still_served(engine: Engine, deleted: DocumentStatus | None) -> str:
    """Where the content of a deleted name is still served from, when a copy took it over."""
    if deleted is None or not deleted.document_id:
        return ""
    holders = [
        row.source
        for row in engine.registry.sources_of(deleted.document_id)
        if row.state in (DocumentState.INDEXED, DocumentState.UNCHANGED)
    ]
    return f"; its content stays indexed as {holders[0]}" if holders else ""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the query API over HTTP (POST /query, POST /search, GET /health, /docs)."""
    import uvicorn

    from ragline.entrypoints.server import create_app, is_loopback

    settings = _settings()
    # No token on the command line: every user of the machine could read it in `ps`.
    if settings.server.token is None and not is_loopback(host):
        errors.print(
            f"[bold red]--host {escape(host)}:[/] serving beyond loopback needs a token: set RAGLINE_SERVER__TOKEN "
            "(16 characters or more); clients then send 'Authorization: Bearer <token>'"
        )
        raise typer.Exit(2)
    engine = _engine(settings)
    try:
        uvicorn.run(create_app(engine, settings.server), host=host, port=port, log_level="info")
    finally:
        engine.close()


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback only: the UI has no sign-in).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
) -> None:
    """Start the chat UI (Streamlit) on the local engine; needs the `ui` extra (`make ui`)."""
    import importlib.util

    from ragline.entrypoints.server import is_loopback

    if not is_loopback(host):
        errors.print(f"[bold red]--host {escape(host)}:[/] the chat UI has no sign-in; it listens on loopback only")
        raise typer.Exit(2)
    if importlib.util.find_spec("streamlit") is None:
        install = escape("pip install -e '.[ui]'")  # rich would read [ui] as a style
        errors.print(f"[bold red]ragline ui:[/] Streamlit is not installed: {install} (or make ui)")
        raise typer.Exit(2)
    _settings()  # a configuration error is said here, before the server starts
    script = Path(__file__).with_name("ui.py")
    # Streamlit's own CLI: it owns the server, the browser sessions and reruns of the script.
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", host]
    command += ["--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"]
    command += ["--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    # This process becomes Streamlit's: stopping it stops the server, with no child left behind.
    os.execv(sys.executable, command)


@app.command()
def openapi(output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None) -> None:
    """Print the OpenAPI document of the query API."""
    from ragline.entrypoints.server import openapi_document

    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


model_app = typer.Typer(help="Manage the local embedding model.")
app.add_typer(model_app, name="model")
app.add_typer(drift_app, name="drift", help="Embedding drift: baseline, snapshot and prompt distance.")


@model_app.command("prepare")
def model_prepare() -> None:
    """Export the packaged model to ONNX once (needs the `export` extra) and check it loads."""
    engine = _engine()
    try:
        [vector] = engine.embedder.embed(["ragline model check"])
        console.print(f"{engine.embedder.model_name}: ready, {len(vector)} dimensions")
    finally:
        engine.close()


@app.command()
def demo(
    corpus: Annotated[Path, typer.Option(help="Folder of documents to ingest.")] = DEMO_CORPUS,
    questions: Annotated[Path, typer.Option(help="File with one question per line.")] = DEMO_QUESTIONS,
) -> None:
    """Ingest the demo corpus and answer its example questions."""
    engine = _engine()
    try:
        report = _ingest_with_progress(engine, [corpus], sync=True, tags=["demo"])
        _print_report(report)
        for line in questions.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                console.rule()
                print_answer(engine.ask(line.strip()))
    finally:
        engine.close()
    if report.failed:
        raise typer.Exit(1)
