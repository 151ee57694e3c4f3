using AiGateway.Api;
using AiGateway.History;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using AiGateway.Tests.Api;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.History;

/// <summary>
/// Usage summaries read daily, hourly and half-hourly rollups plus the calls above the rollup watermark, and must always equal the sum of the
/// calls themselves: before, during and after rollup steps, across restarts, with calls arriving meanwhile and with two
/// instances stepping at once. The expected figures are computed here from the calls written, not by the gateway.
/// </summary>
public abstract class UsageRollupTests<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 7, 13, 27, 450, TimeSpan.Zero);
    private static readonly string[] GroupBys = ["day", "model", "key", "feature", "task"];
    // Whole hours either side, half and quarter hours (+05:30, −09:30, +05:45), and the ends of the accepted range.
    private static readonly int[] Offsets = [0, 60, 120, -300, 330, -570, 345, 840, -720];

    private UsageRollupStep Step(CreditLedger ledger, int chunk) =>
        new(fixture.Factory, ledger.Writer, Options.Create(new HistoryOptions { RollupChunk = chunk }), TimeProvider.System);

    private static List<CallRecord> Calls(Guid account, int count, int seed) =>
        Enumerable.Range(seed, count).Select(n => HistorySeed.Call(account, n, Start.AddMinutes(n * 67.3 % 40_000).AddMilliseconds(n % 997))).ToList();

    [Fact]
    public async Task Summary_BeforeDuringAndAfterRollup_EqualsSumOfCalls()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var other = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 600, 0);
        await HistorySeed.CallsAsync(fixture.Options, calls.Take(300));
        await HistorySeed.CallsAsync(fixture.Options, Calls(other, 50, 1000));
        await HistorySeed.CallsAsync(fixture.Options, calls.Skip(300));
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        var step = Step(ledger, chunk: 97);

        await AssertSummariesEqualCallsAsync(account, calls, "nothing rolled up");
        var horizon = await step.HorizonAsync(default);
        await step.StepAsync(horizon, default);
        await step.StepAsync(horizon, default);
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "part rolled up");
        await step.CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "all rolled up");
        await using var db = new LedgerDbContext(fixture.Options);
        Assert.Equal(await db.CallRecords.MaxAsync(c => c.Id), await UsageRollupStep.ReadWatermarkAsync(db, default));
    }

    /// <summary>
    /// Calls right at, just before and just after local midnights and the edges of the half hours around them, at
    /// offsets whose midnight falls inside a half hour (+05:45, +12:45; +05:40 and +05:50, where the shorter piece of
    /// the straddling half hour is after, or before, the midnight) or on a half-hour edge (−09:30), summed before, while
    /// and after the rollups hold them, over ranges whose whole hours at either end take in a straddling half hour.
    /// </summary>
    [Fact]
    public async Task Summary_CallsAroundLocalMidnights_EqualsSumOfCalls()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var day = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        int[] offsets = [345, -570, 765, 340, 350];
        var tick = TimeSpan.FromTicks(1);
        TimeSpan[] around = [TimeSpan.Zero, -tick, tick, TimeSpan.FromMinutes(-1), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(-899), TimeSpan.FromSeconds(899)];
        var times = new List<DateTimeOffset>();
        for (var d = 0; d < 4; d++)
        foreach (var offset in offsets)
        {
            var midnight = day.AddDays(d) - TimeSpan.FromMinutes(offset);
            var halfHour = new DateTimeOffset(midnight.UtcTicks / (TimeSpan.TicksPerHour / 2) * (TimeSpan.TicksPerHour / 2), TimeSpan.Zero);
            times.AddRange(around.Select(t => midnight + t));
            times.AddRange([halfHour, halfHour - tick, halfHour.AddMinutes(30) - tick, halfHour.AddMinutes(30)]);
        }
        var calls = times.Select((t, n) => HistorySeed.Call(account, n, t)).ToList();
        await HistorySeed.CallsAsync(fixture.Options, calls);
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        var step = Step(ledger, chunk: 61);
        (DateTimeOffset, DateTimeOffset)[] ranges =
        [
            (day.AddDays(-2), day.AddDays(5)),
            (day.AddHours(-6).AddMinutes(-10), day.AddDays(2).AddHours(19).AddMinutes(5)),    // end hours: 17:00 on the eve, up to 19:00
            (day.AddHours(10).AddMinutes(50), day.AddDays(1).AddHours(19).AddMinutes(10)),    // no whole UTC day
            (day.AddDays(1).AddHours(-12), day.AddDays(3).AddHours(12)),
        ];

        await AssertSummariesEqualCallsAsync(account, calls, "nothing rolled up", offsets, ranges);
        var horizon = await step.HorizonAsync(default);
        await step.StepAsync(horizon, default);
        await AssertSummariesEqualCallsAsync(account, calls, "part rolled up", offsets, ranges);
        await step.CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "all rolled up", offsets, ranges);
    }

    [Fact]
    public async Task CatchUp_RestartedAndRepeated_CountsEachCallOnce()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 400, 5000);
        await HistorySeed.CallsAsync(fixture.Options, calls);
        await using (var first = fixture.CreateLedger(TimeProvider.System))
        {
            await Step(first, chunk: 50).CatchUpAsync(maxChunks: 3);
        }
        // A new instance (new ledger, new step) continues from the durable watermark.
        await using var second = fixture.CreateLedger(TimeProvider.System);
        var step = Step(second, chunk: 50);
        await step.CatchUpAsync();
        Assert.Equal(0, await step.CatchUpAsync());

        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after restart");
    }

    [Fact]
    public async Task CatchUp_TwoInstancesWhileCallsArrive_CountsEachCallOnceAndSummariesStayExact()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        await using var writer = fixture.CreateLedger(TimeProvider.System);
        await using var a = fixture.CreateLedger(TimeProvider.System);
        await using var b = fixture.CreateLedger(TimeProvider.System);
        var stepA = Step(a, chunk: 13);
        var stepB = Step(b, chunk: 17);
        var written = new List<CallRecord>();
        using var stop = new CancellationTokenSource();

        async Task StepLoop(UsageRollupStep step)
        {
            while (!stop.IsCancellationRequested) await step.CatchUpAsync(maxChunks: 5);
        }
        var steppers = Task.WhenAll(Task.Run(() => StepLoop(stepA)), Task.Run(() => StepLoop(stepB)));
        for (var batch = 0; batch < 20; batch++)
        {
            // Through the ledger's own call-record write path, in batches as the metered path writes them.
            var calls = Calls(account, 25, 10_000 + batch * 25);
            await writer.InsertCallRecordsAsync(calls);
            written.AddRange(calls);
            if (batch % 5 == 4) await AssertSummariesEqualCallsAsync(account, written, $"while stepping, batch {batch}");
        }
        stop.Cancel();
        await steppers;
        await stepA.CatchUpAsync();

        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, written, "after concurrent steps");
    }

    [Fact]
    public async Task CorrectCharge_OfRolledUpAndPendingCalls_KeepsSummariesEqualToCalls()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 40, 20_000);
        await HistorySeed.CallsAsync(fixture.Options, calls.Take(20));
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await HistorySeed.CallsAsync(fixture.Options, calls.Skip(20));

        // An asynchronous video job settles after its record was written: once for a rolled-up call, once for a pending one.
        foreach (var call in new[] { calls[3], calls[30] })
        {
            await UsageRollupStep.CorrectChargeAsync(ledger.Writer, call.RequestId, 777_777, 11, "provider");
            call.ChargedMicro = 777_777;
            call.OverageMicro = 11;
        }
        await AssertSummariesEqualCallsAsync(account, calls, "after corrections");
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after corrections, all rolled up");
    }

    /// <summary>
    /// A leased call's record is stored with its settlement and corrected in place when its outcome changes afterwards
    /// (the client left before the end: another status and error); an interrupted record is replaced by the call's own.
    /// Both can happen after a rollup step passed the call: its rollups must follow, or summaries keep the old status
    /// (or count the call twice).
    /// </summary>
    [Fact]
    public async Task CorrectRecord_OfRolledUpAndPendingCalls_KeepsSummariesEqualToCalls()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 40, 30_000);
        calls[5].UsageSource = CallRecord.InterruptedUsageSource;
        calls[5].StatusCode = 0;
        calls[5].ChargedMicro = 0;
        await HistorySeed.CallsAsync(fixture.Options, calls.Take(20));
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await HistorySeed.CallsAsync(fixture.Options, calls.Skip(20));

        // Rolled up (3, 7) and pending (30): another status, error and duration; 9: corrected to what it already says.
        var corrected = new List<CallRecord>();
        foreach (var (index, status) in new[] { (3, 499), (7, 502), (30, 499), (9, calls[9].StatusCode) })
        {
            var copy = Copy(calls[index]);
            (copy.StatusCode, copy.Error, copy.DurationMs) = (status, status == 499 ? "client disconnected" : copy.Error, 4_321);
            corrected.Add(copy);
            calls[index] = copy;
        }
        await ledger.SettleLeasedBatchAsync([], [], corrections: corrected);
        // The interrupted record of a rolled-up call replaced by the call's own (charged, status 200).
        var own = Copy(calls[5]);
        (own.UsageSource, own.StatusCode, own.ChargedMicro) = ("provider", 200, 4_242);
        await ledger.SettleLeasedBatchAsync([], [own]);
        calls[5] = own;

        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after corrections");
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after corrections, all rolled up");
    }

    /// <summary>
    /// PostgreSQL: an interrupted record stored and rolled up between a settlement batch's reads and its writes (a race
    /// the batch's reads cannot see; its COMMIT rides with its writes, so nothing runs in its transaction after them):
    /// the call's own record replaces it all the same, and it leaves the rollups in a transaction of its own.
    /// </summary>
    protected async Task InterruptedRecordStoredBetweenABatchsReadsAndWrites_IsReplaced_AndLeavesTheRollups()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 12, 50_000);
        await HistorySeed.CallsAsync(fixture.Options, calls);
        await using var ledger = fixture.CreateLedger(TimeProvider.System, o => o.Leases = true);
        await using var other = fixture.CreateLedger(TimeProvider.System, o => o.Leases = true);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromDecimal(100), null, null, $"race-{account:N}", null);
        await Step(ledger, chunk: 1000).CatchUpAsync();

        var own = HistorySeed.Call(account, 50_100, Start.AddMinutes(3));
        (own.StatusCode, own.ChargedMicro, own.OverageMicro) = (200, 4_242, 0);
        var interrupted = Copy(own);
        (interrupted.UsageSource, interrupted.StatusCode, interrupted.ChargedMicro, interrupted.InputTokens) = (CallRecord.InterruptedUsageSource, 0, 0, 1);
        var raced = 0;
        ledger.AfterBatchReadsForTests = async () =>
        {
            if (raced++ > 0) return;
            // Another instance resolves the call as interrupted (its markers expired) and a rollup step passes it.
            Assert.Equal(1, await other.RecordInterruptedAsync([interrupted]));
            await Step(other, chunk: 1000).CatchUpAsync();
            await AssertRollupsHoldEveryCallOnceAsync();
        };
        var result = await ledger.SettleLeasedBatchAsync([new CreditLedger.LeasedSettlement(account, own.RequestId, 5_000, own.ChargedMicro, null, null, 0, own)], []);
        Assert.Equal(1, raced);
        Assert.Equal(SettleStatus.Settled, result.Settled[0].Status);
        await using (var db = new LedgerDbContext(fixture.Options))
        {
            var stored = await db.CallRecords.AsNoTracking().SingleAsync(c => c.RequestId == own.RequestId);
            Assert.Equal(("provider", 200, 4_242L), (stored.UsageSource, stored.StatusCode, stored.ChargedMicro));
        }
        calls.Add(own);
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after the raced interrupted record");
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after the raced interrupted record, all rolled up");
    }

    private static CallRecord Copy(CallRecord call)
    {
        var copy = new CallRecord
        {
            RequestId = call.RequestId, Route = call.Route, Provider = call.Provider, Model = call.Model, Operation = call.Operation,
            UsageSource = call.UsageSource,
        };
        foreach (var property in typeof(CallRecord).GetProperties().Where(p => p is { CanRead: true, CanWrite: true } && p.Name != nameof(CallRecord.Id)))
            property.SetValue(copy, property.GetValue(call));
        return copy;
    }

    [Fact]
    public async Task TotalsMigration_OverRolledUpAndPendingCalls_FillsTotalsEqualToCalls()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        var calls = Calls(account, 300, 30_000);
        await HistorySeed.CallsAsync(fixture.Options, calls.Take(200));
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await HistorySeed.CallsAsync(fixture.Options, calls.Skip(200));

        // The database as 0012 left it: rollups per key × model × feature × task × status only, calls above the watermark.
        await using (var db = new LedgerDbContext(fixture.Options))
        {
            await db.Database.ExecuteSqlRawAsync(
                "DROP TABLE usage_daily_totals; DROP TABLE usage_daily_tasks; DROP TABLE usage_halfhour_totals; DELETE FROM schema_migrations WHERE id = '0013_usage_totals'");
            Assert.Equal(["0013_usage_totals"], await AiGateway.Storage.Migrations.SchemaMigrator.MigrateAsync(db));
        }

        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after the totals migration");
        await Step(ledger, chunk: 1000).CatchUpAsync();
        await AssertRollupsHoldEveryCallOnceAsync();
        await AssertSummariesEqualCallsAsync(account, calls, "after the totals migration, all rolled up");
    }

    /// <summary>Each rollup level, row by row, equals the calls up to the watermark grouped the same way.</summary>
    private async Task AssertRollupsHoldEveryCallOnceAsync()
    {
        await using var db = new LedgerDbContext(fixture.Options);
        var watermark = await UsageRollupStep.ReadWatermarkAsync(db, default);
        var calls = await db.CallRecords.AsNoTracking().Where(c => c.Id <= watermark).ToListAsync();
        Dictionary<string, (long, long, long, long, long, long, long)> Sum(Func<CallRecord, string> key) => calls
            .GroupBy(key)
            .ToDictionary(g => g.Key, g => ((long)g.Count(), g.Sum(c => c.InputTokens), g.Sum(c => c.CachedInputTokens), g.Sum(c => c.OutputTokens),
                g.Sum(c => c.ReasoningTokens), g.Sum(c => c.ChargedMicro), g.Sum(c => c.OverageMicro)));
        string Full(CallRecord c, long bucket) =>
            Key(c.AccountId, c.StartedAt.UtcTicks / bucket * bucket, c.KeyId, c.Model, c.Feature ?? "", c.Task ?? "", c.StatusCode);
        string Total(CallRecord c, long bucket) => Key(c.AccountId, c.StartedAt.UtcTicks / bucket * bucket, Guid.Empty, c.Model, "", "", c.StatusCode);
        var hours = (await db.UsageRollups.AsNoTracking().ToListAsync()).ToDictionary(
            r => Key(r.AccountId, r.HourStart, r.KeyId, r.Model, r.Feature, r.Task, r.StatusCode),
            r => (r.Calls, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, r.OverageMicro));
        var days = (await db.UsageDailyRollups.AsNoTracking().ToListAsync()).ToDictionary(
            r => Key(r.AccountId, r.DayStart, r.KeyId, r.Model, r.Feature, r.Task, r.StatusCode),
            r => (r.Calls, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, r.OverageMicro));
        var dailyTotals = (await db.UsageDailyTotals.AsNoTracking().ToListAsync()).ToDictionary(
            r => Key(r.AccountId, r.DayStart, Guid.Empty, r.Model, "", "", r.StatusCode),
            r => (r.Calls, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, r.OverageMicro));
        var dailyTasks = (await db.UsageDailyTasks.AsNoTracking().ToListAsync()).ToDictionary(
            r => Key(r.AccountId, r.DayStart, Guid.Empty, "", "", r.Task, r.StatusCode),
            r => (r.Calls, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, r.OverageMicro));
        var halfHourTotals = (await db.UsageHalfHourTotals.AsNoTracking().ToListAsync()).ToDictionary(
            r => Key(r.AccountId, r.HalfHourStart, Guid.Empty, r.Model, "", "", r.StatusCode),
            r => (r.Calls, r.InputTokens, r.CachedInputTokens, r.OutputTokens, r.ReasoningTokens, r.ChargedMicro, r.OverageMicro));
        AssertSameRows(Sum(c => Full(c, TimeSpan.TicksPerHour)), hours, "hourly rollups");
        AssertSameRows(Sum(c => Full(c, TimeSpan.TicksPerDay)), days, "daily rollups");
        AssertSameRows(Sum(c => Total(c, TimeSpan.TicksPerDay)), dailyTotals, "daily totals");
        AssertSameRows(Sum(c => Total(c, TimeSpan.TicksPerHour / 2)), halfHourTotals, "half-hourly totals");
        AssertSameRows(Sum(c => Key(c.AccountId, c.StartedAt.UtcTicks / TimeSpan.TicksPerDay * TimeSpan.TicksPerDay, Guid.Empty, "", "", c.Task ?? "", c.StatusCode)),
            dailyTasks, "daily tasks");
    }

    private static string Key(Guid account, long bucket, Guid key, string model, string feature, string task, int status) =>
        $"{account}|{bucket}|{key}|{model}|{feature}|{task}|{status}";

    private static void AssertSameRows<T>(Dictionary<string, T> expected, Dictionary<string, T> actual, string level)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"{level}: {missing.Count} rows missing (e.g. {missing.FirstOrDefault()}), {extra.Count} extra (e.g. {extra.FirstOrDefault()})");
        foreach (var (key, sums) in expected)
        {
            Assert.True(Equals(sums, actual[key]), $"{level}, row {key}: {actual[key]}, expected the calls' {sums}");
        }
    }

    private async Task AssertSummariesEqualCallsAsync(
        Guid account, IReadOnlyList<CallRecord> calls, string when, int[]? offsets = null, (DateTimeOffset From, DateTimeOffset To)[]? ranges = null)
    {
        ranges ??= new (DateTimeOffset From, DateTimeOffset To)[]
        {
            (Start.AddDays(-1), Start.AddDays(40)),                                   // everything
            (Start.AddHours(5).AddMinutes(17), Start.AddDays(9).AddMinutes(-23)),     // ragged ends
            (new DateTimeOffset(2026, 3, 5, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 12, 0, 0, 0, TimeSpan.Zero)),
            (Start.AddDays(3).AddMinutes(10), Start.AddDays(3).AddMinutes(100)),      // inside two hours
        };
        await using var db = new LedgerDbContext(fixture.Options);
        foreach (var (from, to) in ranges)
        foreach (var groupBy in GroupBys)
        foreach (var offset in groupBy == "day" ? offsets ?? Offsets : [0])
        {
            var summary = await AccountQueries.SummaryAsync(db, account, from, to, groupBy, offset, default);
            var expected = Expected(calls, from, to, groupBy, TimeSpan.FromMinutes(offset));
            var context = $"{when}: {groupBy} at {offset} min over {from:O}..{to:O}";
            Assert.True(expected.Values.Sum(e => e.Calls) == summary.Totals.Calls, $"{context}: {summary.Totals.Calls} calls, expected {expected.Values.Sum(e => e.Calls)}");
            Assert.Equal(new Credits(expected.Values.Sum(e => e.Micro)).ToDecimal(), summary.Totals.Credits);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), summary.Buckets.Select(b => b.Key).Order(StringComparer.Ordinal));
            foreach (var bucket in summary.Buckets)
            {
                var e = expected[bucket.Key];
                Assert.True(e.Calls == bucket.Calls, $"{context}, bucket {bucket.Key}: {bucket.Calls} calls, expected {e.Calls}");
                Assert.Equal(new Credits(e.Micro).ToDecimal(), bucket.Credits);
                Assert.Equal((e.Input, e.Cached, e.Output, e.Reasoning), (bucket.InputTokens, bucket.CachedInputTokens, bucket.OutputTokens, bucket.ReasoningTokens));
                Assert.Equal(e.Statuses.OrderBy(s => s.Key), bucket.Statuses.OrderBy(s => s.Key));
                if (groupBy == "day")
                {
                    Assert.Equal(e.Models.OrderBy(m => m.Key), bucket.Models!.Select(m => KeyValuePair.Create(m.Model, (m.Calls, new Credits(0).ToDecimal() + m.Credits))).OrderBy(m => m.Key));
                }
            }
        }
    }

    private sealed record Bucket(long Calls, long Input, long Cached, long Output, long Reasoning, long Micro,
        Dictionary<string, long> Statuses, Dictionary<string, (long, decimal)> Models);

    private static Dictionary<string, Bucket> Expected(IReadOnlyList<CallRecord> calls, DateTimeOffset from, DateTimeOffset to, string groupBy, TimeSpan offset) =>
        calls.Where(c => c.StartedAt >= from && c.StartedAt < to)
            .GroupBy(c => groupBy switch
            {
                "day" => c.StartedAt.ToOffset(offset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                "model" => c.Model,
                "key" => c.KeyId.ToString(),
                "task" => c.Task ?? "",
                _ => c.Feature ?? "",
            })
            .ToDictionary(g => g.Key, g => new Bucket(g.Count(), g.Sum(c => c.InputTokens), g.Sum(c => c.CachedInputTokens), g.Sum(c => c.OutputTokens),
                g.Sum(c => c.ReasoningTokens), g.Sum(c => c.ChargedMicro),
                g.GroupBy(c => c.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToDictionary(s => s.Key, s => (long)s.Count()),
                g.GroupBy(c => c.Model).ToDictionary(m => m.Key, m => ((long)m.Count(), new Credits(m.Sum(c => c.ChargedMicro)).ToDecimal()))));
}

/// <summary>Rollups on SQLite.</summary>
public sealed class SqliteUsageRollupTests(SqliteLedgerFixture fixture) : UsageRollupTests<SqliteLedgerFixture>(fixture);

/// <summary>Rollups on PostgreSQL.</summary>
public sealed class PostgresUsageRollupTests(PostgresLedgerFixture fixture) : UsageRollupTests<PostgresLedgerFixture>(fixture)
{
    [Fact]
    public Task RacedInterruptedRecord_IsReplaced_AndLeavesTheRollups() => InterruptedRecordStoredBetweenABatchsReadsAndWrites_IsReplaced_AndLeavesTheRollups();
}
