using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Api;

/// <summary>
/// Admin CSV exports of usage and of the activity ledger. Rows are read in id order in chunks of
/// <see cref="ChunkSize"/>, each chunk its own short query that resumes after the last id written (keyset pagination),
/// and written to the response as they arrive: the first row leaves after one indexed chunk, memory stays flat, and no
/// read transaction stays open while a slow client downloads (on SQLite one long reader kept the WAL from being
/// checkpointed: 389 MB during a 25 s export under load).
/// </summary>
public static class CsvExportApi
{
    /// <summary>The media type of every export.</summary>
    public const string CsvContentType = "text/csv; charset=utf-8";

    /// <summary>Rows read per query.</summary>
    public const int ChunkSize = 1000;

    /// <summary>The columns of a usage export, in order; the all-accounts export puts <c>account_id,account_name</c> first.</summary>
    public static readonly string[] UsageColumns =
    [
        "started_at", "request_id", "key_id", "provider", "model", "priced_model", "operation", "stream", "status", "usage_source",
        "input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens", "reasoning_tokens", "images",
        "video_seconds", "audio_uses", "credits", "estimate", "overage", "feature", "task", "duration_ms", "error", "usage_clamped",
    ];

    /// <summary>The columns of a ledger export, in order.</summary>
    public static readonly string[] LedgerColumns =
        ["id", "at", "type", "direction", "amount", "available_after", "lot_id", "lot_kind", "lot_reason", "request_id", "model", "note"];

    /// <summary>Maps <c>GET /accounts/{id}/usage.csv</c>, <c>GET /accounts/{id}/ledger.csv</c> and <c>GET /usage.csv</c> on the admin group.</summary>
    public static RouteGroupBuilder MapCsvExportApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/accounts/{id:guid}/usage.csv", ExportAccountUsage)
            .WithName("ExportAccountUsage").WithSummary("CSV of an account's calls, oldest first (streamed)").WithTags(ApiTags.AdminExports)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        admin.MapGet("/accounts/{id:guid}/ledger.csv", ExportAccountLedger)
            .WithName("ExportAccountLedger").WithSummary("CSV of an account's credit movements (all types unless type=), oldest first").WithTags(ApiTags.AdminExports)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        admin.MapGet("/usage.csv", ExportAllUsage)
            .WithName("ExportAllUsage").WithSummary("CSV of every account's calls, account id and name first").WithTags(ApiTags.AdminExports)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        return admin;
    }

    private static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> ExportAccountUsage(
        Guid id, HttpContext http, LedgerDbContext db, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        if (QueryArguments.Range(from, to) is { } bad) return bad;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        var calls = AccountQueries.Calls(db, id, from, to, null, null, null);
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(UsageColumns);
            await foreach (var r in Chunks(after => UsageChunkQuery(calls, after), r => r.Id, 0L, http.RequestAborted))
            {
                WriteCall(csv, r);
                await csv.EndRowAsync();
            }
        }, CsvContentType, $"usage-{id}.csv");
    }

    private static Results<PushStreamHttpResult, ProblemHttpResult> ExportAllUsage(
        HttpContext http, LedgerDbContext db, DateTimeOffset? from, DateTimeOffset? to)
    {
        if (QueryArguments.Range(from, to) is { } bad) return bad;
        var calls = db.CallRecords.AsNoTracking();
        if (from is { } f) calls = calls.Where(r => r.StartedAt >= f);
        if (to is { } t) calls = calls.Where(r => r.StartedAt < t);
        var names = new Dictionary<Guid, string>();
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(["account_id", "account_name", .. UsageColumns]);
            // From a start time: in (started_at, id) order over its own index, so the first row comes at once however
            // recent the start (in id order the walk would pass every older call first).
            var rows = from is { } start
                ? Chunks(after => UsageTimeChunkQuery(calls, after.Start, after.Id), r => (Start: r.StartedAt, r.Id), (Start: start, Id: 0L), http.RequestAborted)
                : Chunks(after => UsageChunkQuery(calls, after), r => r.Id, 0L, http.RequestAborted);
            await foreach (var r in rows)
            {
                if (!names.TryGetValue(r.AccountId, out var name))
                {
                    // Few accounts against many calls: each name is read once, by primary key.
                    name = await db.Accounts.AsNoTracking().Where(a => a.Id == r.AccountId).Select(a => a.Name).FirstOrDefaultAsync(http.RequestAborted) ?? "";
                    if (names.Count < 100_000) names[r.AccountId] = name;
                }
                csv.Text(r.AccountId.ToString()).Text(name);
                WriteCall(csv, r);
                await csv.EndRowAsync();
            }
        }, CsvContentType, "usage.csv");
    }

    private static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> ExportAccountLedger(
        Guid id, HttpContext http, LedgerDbContext db, string? type, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        if (QueryArguments.Range(from, to) is { } bad) return bad;
        // An export is for bookkeeping, so it includes holds and releases unless a type filter says otherwise.
        if (AccountQueries.LedgerTypes(string.IsNullOrWhiteSpace(type) ? "all" : type, out var types) is { } badType) return badType;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        var entries = AccountQueries.Ledger(db, id, types, from, to);
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(LedgerColumns);
            long after = 0;
            while (true)
            {
                var chunk = await LedgerChunkQuery(entries, after).ToListAsync(http.RequestAborted);
                if (chunk.Count == 0) break;
                after = chunk[^1].Id;
                foreach (var e in await AccountQueries.LabelAsync(db, id, chunk, http.RequestAborted))
                {
                    csv.Number(e.Id).Time(e.At).Text(e.Type).Text(e.Direction).Number(e.Amount).Number(e.AvailableAfter)
                        .Text(e.LotId?.ToString(System.Globalization.CultureInfo.InvariantCulture))
                        .Text(e.LotKind).Text(e.LotReason).Text(e.RequestId).Text(e.Model).Text(e.Note);
                    await csv.EndRowAsync();
                }
                if (chunk.Count < ChunkSize) break;
            }
        }, CsvContentType, $"ledger-{id}.csv");
    }

    /// <summary>One chunk of a usage export: the next <see cref="ChunkSize"/> calls after id <paramref name="after"/>.</summary>
    public static IQueryable<CallRecord> UsageChunkQuery(IQueryable<CallRecord> calls, long after) =>
        calls.Where(r => r.Id > after).OrderBy(r => r.Id).Take(ChunkSize);

    /// <summary>One chunk of the all-accounts usage export from a start time: the next calls after <c>(afterStart, afterId)</c>, in that order.</summary>
    public static IQueryable<CallRecord> UsageTimeChunkQuery(IQueryable<CallRecord> calls, DateTimeOffset afterStart, long afterId) =>
        calls.Where(r => r.StartedAt >= afterStart && (r.StartedAt > afterStart || r.Id > afterId)).OrderBy(r => r.StartedAt).ThenBy(r => r.Id).Take(ChunkSize);

    /// <summary>One chunk of a ledger export: the next <see cref="ChunkSize"/> movements after id <paramref name="after"/>.</summary>
    public static IQueryable<LedgerEntry> LedgerChunkQuery(IQueryable<LedgerEntry> entries, long after) =>
        entries.Where(e => e.Id > after).OrderBy(e => e.Id).Take(ChunkSize);

    /// <summary>Every row of a keyset-paged query, one short query per chunk.</summary>
    private static async IAsyncEnumerable<T> Chunks<T, TKey>(
        Func<TKey, IQueryable<T>> chunkAfter, Func<T, TKey> idOf, TKey start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var after = start;
        while (true)
        {
            var chunk = await chunkAfter(after).ToListAsync(ct);
            foreach (var row in chunk) yield return row;
            if (chunk.Count < ChunkSize) yield break;
            after = idOf(chunk[^1]);
        }
    }

    private static void WriteCall(CsvWriter csv, CallRecord r) =>
        csv.Time(r.StartedAt).Text(r.RequestId).Text(r.KeyId.ToString()).Text(r.Provider).Text(r.Model).Text(r.PricedModel)
            .Text(r.Operation).Text(r.Stream ? "true" : "false").Number(r.StatusCode).Text(r.UsageSource)
            .Number(r.InputTokens).Number(r.CachedInputTokens).Number(r.CacheWriteInputTokens).Number(r.OutputTokens).Number(r.ReasoningTokens)
            .Number(r.Images).Number(r.VideoSeconds).Number(r.AudioUses)
            .Number(new Credits(r.ChargedMicro).ToDecimal()).Number(new Credits(r.EstimateMicro).ToDecimal()).Number(new Credits(r.OverageMicro).ToDecimal())
            .Text(r.Feature).Text(r.Task).Number(r.DurationMs).Text(r.Error).Text(r.UsageClamped ? "true" : "false");
}
