using System.Data.Common;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Api;

/// <summary>
/// Read-only queries over one account's ledger and call records, shared by the user API (the caller's account) and
/// the admin API (any account), so both answer in exactly the same shapes.
/// </summary>
internal static partial class AccountQueries
{
    /// <summary>The largest page of the activity ledger.</summary>
    public const int MaxLedgerPage = 200;

    /// <summary>The largest page of the per-call usage list.</summary>
    public const int MaxUsagePage = UsageApi.MaxPageSize;

    /// <summary>The most buckets a summary returns; grouping by key or feature could otherwise grow without bound.</summary>
    public const int MaxBuckets = 1000;

    /// <summary>The movement types a user reads as the activity ledger; holds and releases are transient and shown only when asked for.</summary>
    public static readonly string[] DefaultLedgerTypes =
        [LedgerEntryTypes.Grant, LedgerEntryTypes.Settle, LedgerEntryTypes.Expire, LedgerEntryTypes.Revoke, LedgerEntryTypes.Adjust];

    private static readonly string[] AllLedgerTypes =
    [
        LedgerEntryTypes.Grant, LedgerEntryTypes.Hold, LedgerEntryTypes.Settle, LedgerEntryTypes.Release,
        LedgerEntryTypes.Expire, LedgerEntryTypes.Revoke, LedgerEntryTypes.Adjust,
    ];

    /// <summary>Parses a comma-separated <c>type</c> filter (<c>all</c> for every type; empty for the default set).</summary>
    public static ProblemHttpResult? LedgerTypes(string? type, out string[] types)
    {
        types = DefaultLedgerTypes;
        if (string.IsNullOrWhiteSpace(type)) return null;
        if (type.Trim() == "all")
        {
            types = AllLedgerTypes;
            return null;
        }
        types = type.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = types.FirstOrDefault(t => !AllLedgerTypes.Contains(t));
        return unknown is null ? null : QueryArguments.Invalid($"Unknown type '{unknown}'; use {string.Join(", ", AllLedgerTypes)} or all.");
    }

    /// <summary>The filtered activity ledger of an account, in id order (newest first unless <paramref name="ascending"/>).</summary>
    public static IQueryable<LedgerEntry> Ledger(LedgerDbContext db, Guid account, string[] types, DateTimeOffset? from, DateTimeOffset? to)
    {
        var query = db.LedgerEntries.AsNoTracking().Where(e => e.AccountId == account);
        // Every type: no filter, so the (account_id, id) index serves the order without a type list to merge.
        if (!AllLedgerTypes.All(types.Contains)) query = query.Where(e => types.Contains(e.Type));
        if (from is { } f) query = query.Where(e => e.At >= f);
        if (to is { } t) query = query.Where(e => e.At < t);
        return query;
    }

    /// <summary>The rows of one ledger page (one more than <paramref name="limit"/>, to tell whether another page follows).</summary>
    public static IQueryable<LedgerEntry> LedgerPageQuery(
        LedgerDbContext db, Guid account, string[] types, DateTimeOffset? from, DateTimeOffset? to, long? before, int limit)
    {
        var query = Ledger(db, account, types, from, to);
        if (before is { } b) query = query.Where(e => e.Id < b);
        return query.OrderByDescending(e => e.Id).Take(limit + 1);
    }

    /// <summary>
    /// The models of the given calls. Looked up by request id alone (its unique index finds each row directly): with
    /// <c>account_id = @a</c> beside the <c>IN</c> list SQLite chose the account's index and read its whole history.
    /// The account is checked on the rows found, so another account's call never lends its model.
    /// </summary>
    public static IQueryable<CallModel> CallModelsQuery(LedgerDbContext db, string[] requestIds) =>
        db.CallRecords.AsNoTracking().Where(r => requestIds.Contains(r.RequestId)).Select(r => new CallModel(r.RequestId, r.AccountId, r.Model));

    /// <summary>The kind and reason of the given lots, looked up by primary key (the account is checked on the rows found).</summary>
    public static IQueryable<LotLabel> LotLabelsQuery(LedgerDbContext db, long[] lotIds) =>
        db.CreditLots.AsNoTracking().Where(l => lotIds.Contains(l.Id)).Select(l => new LotLabel(l.Id, l.AccountId, l.Kind, l.Reason));

    /// <summary>A call's request id, account and model, for labelling ledger movements.</summary>
    public sealed record CallModel(string RequestId, Guid AccountId, string Model);

    /// <summary>A lot's id, account, kind and reason, for labelling ledger movements.</summary>
    public sealed record LotLabel(long Id, Guid AccountId, string Kind, string Reason);

    /// <summary>One page of the activity ledger, newest first, with each movement's lot and model looked up for display.</summary>
    public static async Task<LedgerPage> LedgerPageAsync(
        LedgerDbContext db, Guid account, string[] types, DateTimeOffset? from, DateTimeOffset? to, long? before, int limit, CancellationToken ct)
    {
        var rows = await LedgerPageQuery(db, account, types, from, to, before, limit).ToListAsync(ct);
        var page = rows.Take(limit).ToList();
        var items = await LabelAsync(db, account, page, ct);
        return new LedgerPage(items, rows.Count > limit ? page[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    /// <summary>
    /// Maps movements to views with their lot's kind and reason and their call's model: two small look-ups bounded by
    /// the number of movements, instead of joins that would complicate the keyset queries.
    /// </summary>
    public static async Task<List<LedgerEntryView>> LabelAsync(LedgerDbContext db, Guid account, IReadOnlyList<LedgerEntry> entries, CancellationToken ct)
    {
        var lotIds = entries.Where(e => e.LotId is not null).Select(e => e.LotId!.Value).Distinct().ToArray();
        var lots = lotIds.Length == 0
            ? []
            : (await LotLabelsQuery(db, lotIds).ToListAsync(ct)).Where(l => l.AccountId == account).ToDictionary(l => l.Id);
        var requestIds = entries.Where(e => e.RequestId is not null).Select(e => e.RequestId!).Distinct().ToArray();
        var models = requestIds.Length == 0
            ? []
            : (await CallModelsQuery(db, requestIds).ToListAsync(ct)).Where(c => c.AccountId == account)
                .ToDictionary(c => c.RequestId, c => c.Model, StringComparer.Ordinal);
        return entries.Select(e =>
        {
            var lot = e.LotId is { } id && lots.TryGetValue(id, out var l) ? l : null;
            return ToView(e, lot?.Kind, lot?.Reason, e.RequestId is { } r && models.TryGetValue(r, out var m) ? m : null);
        }).ToList();
    }

    /// <summary>Maps a movement, with its lot's kind and reason and its call's model when known.</summary>
    public static LedgerEntryView ToView(LedgerEntry e, string? lotKind, string? lotReason, string? model) =>
        new(e.Id, e.At, e.Type, DirectionOf(e), new Credits(e.Amount).ToDecimal(), new Credits(e.AvailableAfter).ToDecimal(),
            e.LotId, lotKind, lotReason, e.RequestId, model, e.Note);

    /// <summary>Whether a movement added to, took from, or only corrected the available balance.</summary>
    public static string DirectionOf(LedgerEntry e) => e.Type switch
    {
        LedgerEntryTypes.Grant or LedgerEntryTypes.Release => "in",
        // An expired hold gives its reservation back; an expired lot takes its unspent rest away.
        LedgerEntryTypes.Expire when e.HoldId is not null => "in",
        LedgerEntryTypes.Adjust => "adjust",
        _ => "out",
    };

    /// <summary>The filtered call records of an account.</summary>
    public static IQueryable<CallRecord> Calls(
        LedgerDbContext db, Guid account, DateTimeOffset? from, DateTimeOffset? to, string? model, string? feature, int? status,
        string? task = null)
    {
        var query = db.CallRecords.AsNoTracking().Where(r => r.AccountId == account);
        if (from is { } f) query = query.Where(r => r.StartedAt >= f);
        if (to is { } t) query = query.Where(r => r.StartedAt < t);
        if (!string.IsNullOrEmpty(model)) query = query.Where(r => r.Model == model || r.PricedModel == model);
        if (!string.IsNullOrEmpty(feature)) query = query.Where(r => r.Feature == feature);
        if (!string.IsNullOrEmpty(task)) query = query.Where(r => r.Task == task);
        if (status is { } s) query = query.Where(r => r.StatusCode == s);
        return query;
    }

    /// <summary>The rows of one usage page, newest first (one more than <paramref name="limit"/>, to tell whether another page follows).</summary>
    public static IQueryable<CallRecord> UsagePageQuery(IQueryable<CallRecord> calls, long? before, int limit)
    {
        if (before is { } b) calls = calls.Where(r => r.Id < b);
        return calls.OrderByDescending(r => r.Id).Take(limit + 1);
    }

    /// <summary>One page of calls, newest first, in the user usage API's shape.</summary>
    public static async Task<UsageApi.UsagePage> UsagePageAsync(IQueryable<CallRecord> calls, long? before, int limit, CancellationToken ct)
    {
        var rows = await UsagePageQuery(calls, before, limit).ToListAsync(ct);
        var next = rows.Count > limit ? rows[limit - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return new UsageApi.UsagePage(rows.Take(limit).Select(UsageApi.CallView.From).ToList(), next);
    }

    /// <summary>The grouping names a usage summary accepts.</summary>
    public static readonly string[] GroupBys = ["day", "model", "key", "feature", "task"];

    /// <summary>
    /// Sums an account's calls in <c>[from, to)</c> into buckets, exactly as the calls themselves would add up: whole
    /// UTC days come from a daily level, the whole hours around them from an hourly or half-hourly one (every level
    /// holds the calls up to the rollup watermark), plus the calls above the watermark, and the partial hours at either
    /// end of the range from the calls. By day or by model the narrow levels per model and status are read (daily and
    /// half-hourly totals), by task the daily sums per task and status for whole days, and otherwise (key, feature, the
    /// task grouping's end hours) the rollups per key × model × feature × task × status. A day
    /// grouping at a time-zone offset cuts UTC days in two: see <see cref="AddShiftedDaysAsync"/>.
    /// All of it is read in one short snapshot, so a rollup step committing meanwhile neither doubles nor drops a call.
    /// </summary>
    public static async Task<UsageSummary> SummaryAsync(
        LedgerDbContext db, Guid account, DateTimeOffset from, DateTimeOffset to, string groupBy, int tzOffsetMinutes, CancellationToken ct)
    {
        var summary = new SummaryFold(groupBy, TimeSpan.FromMinutes(tzOffsetMinutes));
        var firstHour = Ceil(from.UtcTicks, TimeSpan.TicksPerHour);
        var lastHour = Floor(to.UtcTicks, TimeSpan.TicksPerHour);
        await using (var snapshot = await ReadSnapshot.BeginAsync(db, ct))
        {
            if (firstHour >= lastHour)
            {
                await summary.AddCallsAsync(Calls(db, account, from, to, null, null, null), ct);
            }
            else
            {
                var watermark = await History.UsageRollupStep.ReadWatermarkAsync(db, ct);
                var firstDay = Ceil(firstHour, TimeSpan.TicksPerDay);
                var lastDay = Floor(lastHour, TimeSpan.TicksPerDay);
                // No whole UTC day inside: hours only.
                if (firstDay >= lastDay) (firstDay, lastDay) = (lastHour, lastHour);
                var offset = tzOffsetMinutes * TimeSpan.TicksPerMinute;
                if (groupBy == "day" && offset % TimeSpan.TicksPerDay != 0)
                {
                    await AddShiftedDaysAsync(db, account, summary, (firstHour, firstDay, lastDay, lastHour), offset, watermark, ct);
                }
                else if (groupBy is "day" or "model")
                {
                    // By UTC day or by model: the narrow levels per model and status (a handful of rows a day).
                    foreach (var (a, b) in new[] { (firstHour, firstDay), (lastDay, lastHour) }.Where(r => r.Item1 < r.Item2))
                    {
                        // At offset 0 every half hour of a UTC day is in that day: one local day per daily row.
                        var parts = await HalfHourPartsAsync(db, account, Floor(a, Day), Ceil(b, Day), 0, Day, a, b, 0, oneLocalDay: true, ct);
                        foreach (var part in parts) summary.Add(part.Slice);
                    }
                    if (firstDay < lastDay)
                    {
                        foreach (var slice in await DailyTotalsQuery(db, account, firstDay, lastDay, groupBy).ToListAsync(ct)) summary.Add(slice);
                    }
                }
                else
                {
                    foreach (var (a, b) in new[] { (firstHour, firstDay), (lastDay, lastHour) }.Where(r => r.Item1 < r.Item2))
                    {
                        foreach (var slice in await RollupSlicesQuery(db, account, a, b, groupBy).ToListAsync(ct)) summary.Add(slice);
                    }
                    if (firstDay < lastDay)
                    {
                        var days = groupBy == "task" ? DailyTasksQuery(db, account, firstDay, lastDay) : DailySlicesQuery(db, account, firstDay, lastDay, groupBy);
                        foreach (var slice in await days.ToListAsync(ct)) summary.Add(slice);
                    }
                }
                var hoursFrom = new DateTimeOffset(firstHour, TimeSpan.Zero);
                var hoursTo = new DateTimeOffset(lastHour, TimeSpan.Zero);
                await summary.AddCallsAsync(RollupTailQuery(db, account, watermark), ct, t => t >= hoursFrom && t < hoursTo);
                if (from < hoursFrom) await summary.AddCallsAsync(Calls(db, account, from, hoursFrom, null, null, null), ct);
                if (hoursTo < to) await summary.AddCallsAsync(Calls(db, account, hoursTo, to, null, null, null), ct);
            }
        }
        return await summary.ToSummaryAsync(db, account, from, to, tzOffsetMinutes, ct);
    }

    /// <summary>
    /// The account's calls that the rollups do not hold yet (ids above the watermark: a few seconds' worth). Without a
    /// time filter, so the planner can only walk <c>(account_id, id)</c> from the watermark, never the range's history.
    /// </summary>
    public static IQueryable<CallRecord> RollupTailQuery(LedgerDbContext db, Guid account, long watermark) =>
        // In id order, so (account_id, id) is the one index that serves it whole, on either database.
        db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.Id > watermark).OrderBy(r => r.Id);

    /// <summary>The hourly rollups of an account's whole hours <c>[firstHour, lastHour)</c> (UTC ticks), summed by the grouping (key, feature or task) and status in the database.</summary>
    public static IQueryable<RollupSlice> RollupSlicesQuery(LedgerDbContext db, Guid account, long firstHour, long lastHour, string groupBy) =>
        SlicesBy(db.UsageRollups.AsNoTracking().Where(r => r.AccountId == account && r.HourStart >= firstHour && r.HourStart < lastHour), groupBy);

    /// <summary>The daily rollups of an account's whole UTC days <c>[firstDay, lastDay)</c> (ticks), summed by the grouping (key, feature or task) and status.</summary>
    public static IQueryable<RollupSlice> DailySlicesQuery(LedgerDbContext db, Guid account, long firstDay, long lastDay, string groupBy) =>
        SlicesBy(db.UsageDailyRollups.AsNoTracking().Where(r => r.AccountId == account && r.DayStart >= firstDay && r.DayStart < lastDay), groupBy);

    /// <summary>
    /// The daily totals (per model and status) of an account's whole UTC days <c>[firstDay, lastDay)</c> (ticks), summed
    /// by UTC day, model and status (<paramref name="groupBy"/> <c>day</c>) or by model and status (<c>model</c>).
    /// </summary>
    public static IQueryable<RollupSlice> DailyTotalsQuery(LedgerDbContext db, Guid account, long firstDay, long lastDay, string groupBy)
    {
        var totals = db.UsageDailyTotals.AsNoTracking().Where(r => r.AccountId == account && r.DayStart >= firstDay && r.DayStart < lastDay);
        return groupBy == "day"
            ? totals.Select(r => new RollupSlice(r.DayStart / TimeSpan.TicksPerDay, r.Model, Guid.Empty, r.StatusCode, r.Calls, r.InputTokens,
                r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro))
            : ByModel(totals);
    }

    /// <summary>The daily sums per task of an account's whole UTC days <c>[firstDay, lastDay)</c> (ticks), summed by task and status.</summary>
    public static IQueryable<RollupSlice> DailyTasksQuery(LedgerDbContext db, Guid account, long firstDay, long lastDay) =>
        db.UsageDailyTasks.AsNoTracking().Where(r => r.AccountId == account && r.DayStart >= firstDay && r.DayStart < lastDay)
            .GroupBy(r => new { r.Task, r.StatusCode })
            .Select(g => new RollupSlice(0, g.Key.Task, Guid.Empty, g.Key.StatusCode, g.Sum(r => r.Calls), g.Sum(r => r.InputTokens),
                g.Sum(r => r.CachedInputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.ReasoningTokens), g.Sum(r => r.ChargedMicro)));

    /// <summary>Any level kept per model and status, summed by model and status in the database.</summary>
    private static IQueryable<RollupSlice> ByModel<T>(IQueryable<T> rows) where T : class, History.IModelUsageCounts =>
        rows.GroupBy(r => new { r.Model, r.StatusCode })
            .Select(g => new RollupSlice(0, g.Key.Model, Guid.Empty, g.Key.StatusCode, g.Sum(r => r.Calls), g.Sum(r => r.InputTokens),
                g.Sum(r => r.CachedInputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.ReasoningTokens), g.Sum(r => r.ChargedMicro)));

    /// <summary>Either rollup level summed by model, key, task or feature (anything else) and status: the groupings without a time bucket.</summary>
    private static IQueryable<RollupSlice> SlicesBy<T>(IQueryable<T> rollups, string groupBy) where T : class, History.IUsageRollupCounts => groupBy switch
    {
        "model" => ByModel(rollups),
        "key" => rollups.GroupBy(r => new { r.KeyId, r.StatusCode })
            .Select(g => new RollupSlice(0, "", g.Key.KeyId, g.Key.StatusCode, g.Sum(r => r.Calls), g.Sum(r => r.InputTokens),
                g.Sum(r => r.CachedInputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.ReasoningTokens), g.Sum(r => r.ChargedMicro))),
        "task" => rollups.GroupBy(r => new { r.Task, r.StatusCode })
            .Select(g => new RollupSlice(0, g.Key.Task, Guid.Empty, g.Key.StatusCode, g.Sum(r => r.Calls), g.Sum(r => r.InputTokens),
                g.Sum(r => r.CachedInputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.ReasoningTokens), g.Sum(r => r.ChargedMicro))),
        _ => rollups.GroupBy(r => new { r.Feature, r.StatusCode })
            .Select(g => new RollupSlice(0, g.Key.Feature, Guid.Empty, g.Key.StatusCode, g.Sum(r => r.Calls), g.Sum(r => r.InputTokens),
                g.Sum(r => r.CachedInputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.ReasoningTokens), g.Sum(r => r.ChargedMicro))),
    };

    /// <summary>Summed rollups of one bucket and status: <paramref name="Day"/> (days since 0001-01-01, local) when grouping by day, with the model as <paramref name="Label"/>.</summary>
    public sealed record RollupSlice(long Day, string Label, Guid Key, int Status, long Calls, long Input, long Cached, long Output, long Reasoning, long Micro);

    private static long Ceil(long ticks, long unit) => (ticks + unit - 1) / unit * unit;

    private static long Floor(long ticks, long unit) => ticks / unit * unit;

    /// <summary>Folds rollup slices and calls into at most <see cref="MaxBuckets"/> buckets of one grouping.</summary>
    private sealed class SummaryFold(string groupBy, TimeSpan offset)
    {
        private readonly Dictionary<string, Accumulator> _buckets = new(StringComparer.Ordinal);
        private readonly Accumulator _totals = new();
        private readonly Dictionary<long, string> _dayKeys = [];

        // A day's key is formatted once: a shifted-day summary adds thousands of slices to a few hundred days.
        private string DayKey(long day)
        {
            if (!_dayKeys.TryGetValue(day, out var key))
            {
                _dayKeys[day] = key = new DateTime(day * TimeSpan.TicksPerDay).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            }
            return key;
        }

        /// <summary>Adds a slice (<paramref name="sign"/> −1 takes it away again: a UTC day's hours that belong to another local day).</summary>
        public void Add(RollupSlice s, int sign = 1)
        {
            var key = groupBy switch
            {
                "day" => DayKey(s.Day),
                "key" => s.Key.ToString(),
                _ => s.Label,
            };
            Add(key, s.Status, sign * s.Calls, sign * s.Input, sign * s.Cached, sign * s.Output, sign * s.Reasoning, sign * s.Micro,
                groupBy == "day" ? s.Label : null);
        }

        /// <summary>Streams calls into the buckets; memory depends on the buckets, not on the number of calls.</summary>
        public async Task AddCallsAsync(IQueryable<CallRecord> calls, CancellationToken ct, Func<DateTimeOffset, bool>? startedIn = null)
        {
            var rows = calls
                .Select(r => new { r.StartedAt, r.Model, r.KeyId, r.Feature, r.Task, r.StatusCode, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro })
                .AsAsyncEnumerable();
            await foreach (var r in rows.WithCancellation(ct))
            {
                if (startedIn is not null && !startedIn(r.StartedAt)) continue;
                var key = groupBy switch
                {
                    "day" => r.StartedAt.ToOffset(offset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    "model" => r.Model,
                    "key" => r.KeyId.ToString(),
                    "task" => r.Task ?? "",
                    _ => r.Feature ?? "",
                };
                Add(key, r.StatusCode, 1, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, groupBy == "day" ? r.Model : null);
            }
        }

        private void Add(string key, int status, long calls, long input, long cached, long output, long reasoning, long micro, string? model)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= MaxBuckets) key = "(other)";
                if (!_buckets.TryGetValue(key, out bucket)) _buckets[key] = bucket = new Accumulator();
            }
            bucket.Add(status, calls, input, cached, output, reasoning, micro, model);
            _totals.Add(status, calls, input, cached, output, reasoning, micro, null);
        }

        public async Task<UsageSummary> ToSummaryAsync(LedgerDbContext db, Guid account, DateTimeOffset from, DateTimeOffset to, int tzOffsetMinutes, CancellationToken ct)
        {
            var labels = new Dictionary<string, string>();
            if (groupBy == "key" && _buckets.Count > 0)
            {
                var ids = _buckets.Keys.Select(k => Guid.TryParse(k, out var g) ? g : Guid.Empty).ToArray();
                labels = await db.GatewayKeys.AsNoTracking().Where(k => k.AccountId == account && ids.Contains(k.Id))
                    .ToDictionaryAsync(k => k.Id.ToString(), k => $"{k.Name} ({k.Prefix}…)", ct);
            }
            // Days read oldest first (a chart's x axis); other groupings biggest spender first.
            // A bucket that slices were added to and taken from again holds no call (see AddShiftedDaysAsync).
            var buckets = _buckets.Where(b => b.Value.Calls != 0);
            var ordered = groupBy == "day"
                ? buckets.OrderBy(b => b.Key, StringComparer.Ordinal)
                : buckets.OrderByDescending(b => b.Value.Micro).ThenBy(b => b.Key, StringComparer.Ordinal);
            var list = ordered.Select(b => b.Value.ToBucket(b.Key, labels.GetValueOrDefault(b.Key, b.Key), groupBy == "day")).ToList();
            var t = _totals;
            return new UsageSummary(from, to, groupBy, tzOffsetMinutes,
                new UsageTotals(t.Calls, t.Input, t.Cached, t.Output, t.Reasoning, new Credits(t.Micro).ToDecimal()), list);
        }
    }

    /// <summary>
    /// A read transaction over the few queries of one summary, so they see one state of the database (SQLite: a deferred
    /// transaction, whose first read fixes the snapshot; PostgreSQL: repeatable read). It lasts milliseconds.
    /// </summary>
    private sealed class ReadSnapshot(LedgerDbContext db, DbTransaction transaction) : IAsyncDisposable
    {
        public static async Task<ReadSnapshot> BeginAsync(LedgerDbContext db, CancellationToken ct)
        {
            await db.Database.OpenConnectionAsync(ct);
            var connection = db.Database.GetDbConnection();
            DbTransaction transaction = connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
                ? sqlite.BeginTransaction(deferred: true)
                : await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
            await db.Database.UseTransactionAsync(transaction, ct);
            return new ReadSnapshot(db, transaction);
        }

        public async ValueTask DisposeAsync()
        {
            await db.Database.UseTransactionAsync(null);
            // Nothing was written: ending the snapshot is all that is left.
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Running sums of one bucket.</summary>
    private sealed class Accumulator
    {
        public long Calls, Input, Cached, Output, Reasoning, Micro;
        private readonly SortedDictionary<string, long> _statuses = new(StringComparer.Ordinal);
        private Dictionary<string, (long Calls, long Micro)>? _models;

        public void Add(int status, long calls, long input, long cached, long output, long reasoning, long micro, string? model)
        {
            Calls += calls;
            Input += input;
            Cached += cached;
            Output += output;
            Reasoning += reasoning;
            Micro += micro;
            var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _statuses[code] = _statuses.GetValueOrDefault(code) + calls;
            if (model is null) return;
            _models ??= new Dictionary<string, (long, long)>(StringComparer.Ordinal);
            var m = _models.GetValueOrDefault(model);
            _models[model] = (m.Calls + calls, m.Micro + micro);
        }

        public UsageBucket ToBucket(string key, string label, bool withModels) => new(
            key, label, Calls, Input, Cached, Output, Reasoning, new Credits(Micro).ToDecimal(),
            new SortedDictionary<string, long>(_statuses.Where(s => s.Value != 0).ToDictionary(), StringComparer.Ordinal),
            withModels
                ? (_models ?? []).Where(m => m.Value.Calls != 0).OrderByDescending(m => m.Value.Micro).ThenBy(m => m.Key, StringComparer.Ordinal)
                    .Select(m => new ModelSlice(m.Key, m.Value.Calls, new Credits(m.Value.Micro).ToDecimal())).ToList()
                : null);
    }
}
