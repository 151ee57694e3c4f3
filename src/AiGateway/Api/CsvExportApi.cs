using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Api;

/// <summary>
/// Admin CSV exports of usage and of the activity ledger. Rows are read with <c>AsAsyncEnumerable</c> and written to
/// the response as they arrive, so an export of any size uses a constant amount of memory.
/// </summary>
public static class CsvExportApi
{
    /// <summary>The media type of every export.</summary>
    public const string CsvContentType = "text/csv; charset=utf-8";

    /// <summary>The columns of a usage export, in order; the all-accounts export puts <c>account_id,account_name</c> first.</summary>
    public static readonly string[] UsageColumns =
    [
        "started_at", "request_id", "key_id", "provider", "model", "priced_model", "operation", "stream", "status", "usage_source",
        "input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens", "reasoning_tokens", "images",
        "video_seconds", "audio_uses", "credits", "estimate", "overage", "feature", "task", "duration_ms", "error",
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
        var rows = AccountQueries.Calls(db, id, from, to, null, null, null).OrderBy(r => r.Id).AsAsyncEnumerable();
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(UsageColumns);
            await foreach (var r in rows.WithCancellation(http.RequestAborted))
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
        var rows = calls.OrderBy(r => r.Id)
            .Join(db.Accounts, r => r.AccountId, a => a.Id, (r, a) => new { Call = r, AccountName = a.Name })
            .AsAsyncEnumerable();
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(["account_id", "account_name", .. UsageColumns]);
            await foreach (var r in rows.WithCancellation(http.RequestAborted))
            {
                csv.Text(r.Call.AccountId.ToString()).Text(r.AccountName);
                WriteCall(csv, r.Call);
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
        var rows = (
            from e in entries
            join l in db.CreditLots on e.LotId equals l.Id into lots
            from l in lots.DefaultIfEmpty()
            join c in db.CallRecords on e.RequestId equals c.RequestId into calls
            from c in calls.DefaultIfEmpty()
            orderby e.Id
            select new { Entry = e, LotKind = l == null ? null : l.Kind, LotReason = l == null ? null : l.Reason, Model = c == null ? null : c.Model })
            .AsAsyncEnumerable();
        return TypedResults.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.HeaderAsync(LedgerColumns);
            await foreach (var r in rows.WithCancellation(http.RequestAborted))
            {
                var e = r.Entry;
                csv.Number(e.Id).Time(e.At).Text(e.Type).Text(AccountQueries.DirectionOf(e)).Number(new Credits(e.Amount).ToDecimal())
                    .Number(new Credits(e.AvailableAfter).ToDecimal()).Text(e.LotId?.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Text(r.LotKind).Text(r.LotReason).Text(e.RequestId).Text(r.Model).Text(e.Note);
                await csv.EndRowAsync();
            }
        }, CsvContentType, $"ledger-{id}.csv");
    }

    private static void WriteCall(CsvWriter csv, CallRecord r) =>
        csv.Time(r.StartedAt).Text(r.RequestId).Text(r.KeyId.ToString()).Text(r.Provider).Text(r.Model).Text(r.PricedModel)
            .Text(r.Operation).Text(r.Stream ? "true" : "false").Number(r.StatusCode).Text(r.UsageSource)
            .Number(r.InputTokens).Number(r.CachedInputTokens).Number(r.CacheWriteInputTokens).Number(r.OutputTokens).Number(r.ReasoningTokens)
            .Number(r.Images).Number(r.VideoSeconds).Number(r.AudioUses)
            .Number(new Credits(r.ChargedMicro).ToDecimal()).Number(new Credits(r.EstimateMicro).ToDecimal()).Number(new Credits(r.OverageMicro).ToDecimal())
            .Text(r.Feature).Text(r.Task).Number(r.DurationMs).Text(r.Error);
}
