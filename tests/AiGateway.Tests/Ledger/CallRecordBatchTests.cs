using System.Reflection;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The call records of a settlement batch (<c>CreditLedger.InsertBatchRecordsAsync</c>: on SQLite several records per
/// INSERT statement) are stored exactly as one record at a time would store them: every column of every record, in
/// the batch's order, and the same answer when a request id is stored already or repeated in the batch (an existing
/// <c>interrupted</c> record gives way, any other is kept). The oracle is the same records written one per batch.
/// </summary>
public sealed class CallRecordBatchTests(SqliteLedgerFixture sqlite, PostgresLedgerFixture postgres)
    : IClassFixture<SqliteLedgerFixture>, IClassFixture<PostgresLedgerFixture>
{
    private const string Interrupted = CallRecord.InterruptedUsageSource;

    [Fact]
    public Task Sqlite_ABatchOfRecords_IsStoredAsOneRecordAtATime() => ScenarioAsync(sqlite, repeats: true);

    /// <remarks>
    /// PostgreSQL's batches (set-based, <c>CreditLedger.LeaseBatches.cs</c>) delete the batch's <c>interrupted</c> records
    /// before inserting, so a request id repeated inside one batch keeps its first record there: repeats left out.
    /// </remarks>
    [Fact]
    public Task Postgres_ABatchOfRecords_IsStoredAsOneRecordAtATime() => ScenarioAsync(postgres, repeats: false);

    private static async Task ScenarioAsync(LedgerDatabaseFixture db, bool repeats)
    {
        var ledger = db.CreateLedger(new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero)), o => o.Leases = true);
        var account = await CreateAccountAsync(db);
        var batched = await WriteAsync(db, ledger, account, $"b{Guid.NewGuid():N}"[..12], oneAtATime: false, repeats);
        var single = await WriteAsync(db, ledger, account, $"s{Guid.NewGuid():N}"[..12], oneAtATime: true, repeats);

        Assert.Equal(single.Stored, batched.Stored);
        // Ids in the batch's order, as written one at a time (the replacing records included).
        Assert.Equal(single.Order, batched.Order);
    }

    /// <summary>
    /// Stores two records first (one <c>interrupted</c>), then a batch of 45 records (chunks of 32, 8, 4 and 1 rows on
    /// SQLite) that meets each of them and repeats two request ids; returns every stored record of the tag as text
    /// (sorted by request id, the tag taken out), and the request ids in id order.
    /// </summary>
    private static async Task<(List<string> Stored, List<string> Order)> WriteAsync(
        LedgerDatabaseFixture db, CreditLedger ledger, Guid account, string tag, bool oneAtATime, bool repeats)
    {
        var before = new List<CallRecord> { Record(account, tag, 1000, Interrupted), Record(account, tag, 1001, "provider") };
        await ledger.SettleLeasedBatchAsync([], before);

        var batch = Enumerable.Range(0, 45).Select(n => Record(account, tag, n, n % 7 == 0 ? "estimated" : "provider")).ToList();
        batch[5] = Record(account, tag, 1000, "provider", variant: 1); // replaces the stored interrupted record
        batch[36] = Record(account, tag, 1001, "partial", variant: 2); // meets a stored record that is kept
        if (repeats)
        {
            batch[3] = Record(account, tag, 2000, Interrupted, variant: 3); // repeated in the same chunk: the second replaces it
            batch[10] = Record(account, tag, 2000, "provider", variant: 4);
            batch[20] = Record(account, tag, 3000, "provider", variant: 5); // repeated across chunks: the second is dropped
            batch[40] = Record(account, tag, 3000, Interrupted, variant: 6);
        }
        if (oneAtATime)
        {
            foreach (var record in batch) await ledger.SettleLeasedBatchAsync([], [record]);
        }
        else
        {
            await ledger.SettleLeasedBatchAsync([], batch);
        }

        await using var context = new LedgerDbContext(db.Options);
        var stored = await context.CallRecords.AsNoTracking().Where(r => r.RequestId.StartsWith(tag)).ToListAsync();
        // Every column as given (the records no other record of their request id met: both paths must agree with the input too).
        var conflicting = new[] { 1000, 1001, 2000, 3000 }.Select(n => RequestId(tag, n)).ToHashSet();
        foreach (var record in batch.Where(r => !conflicting.Contains(r.RequestId)))
            Assert.Equal(Describe(record, tag), Describe(stored.Single(r => r.RequestId == record.RequestId), tag));
        Assert.Equal(2 + 41 + (repeats ? 0 : 2), stored.Count); // two stored before, the batch's 45 less 2 meeting them and 2 repeats
        return ([.. stored.Select(r => Describe(r, tag)).Order(StringComparer.Ordinal)],
            [.. stored.OrderBy(r => r.Id).Select(r => r.RequestId[tag.Length..])]);
    }

    private static string Describe(CallRecord record, string tag) => string.Join("|",
        typeof(CallRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != nameof(CallRecord.Id))
            .Select(p => $"{p.Name}={p.GetValue(record)}".Replace(tag, "tag", StringComparison.Ordinal)));

    private static string RequestId(string tag, int n) => $"{tag}-{n}";

    /// <summary>A record whose every column depends on <paramref name="n"/> (and <paramref name="variant"/>), nulls included.</summary>
    private static CallRecord Record(Guid account, string tag, int n, string source, int variant = 0)
    {
        var v = n * 10 + variant;
        return new CallRecord
        {
            RequestId = RequestId(tag, n), AccountId = account, KeyId = new Guid(v, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
            Route = $"route-{v}", Provider = $"provider-{v}", Model = $"model-{v}", PricedModel = v % 3 == 0 ? null : $"priced-{v}",
            Operation = $"op-{v}", Stream = v % 2 == 0, InputTokens = v + 1, CachedInputTokens = v + 2, CacheWriteInputTokens = v + 3,
            OutputTokens = v + 4, ReasoningTokens = v + 5, Images = v + 6, VideoSeconds = v + 7, AudioUses = v + 8,
            EstimatedInputTokens = v + 9, EstimatedOutputTokens = v + 10, EstimateMicro = v + 11, ChargedMicro = v + 12,
            OverageMicro = v + 13, StatusCode = 200 + v % 300, UsageSource = source, Clamped = v % 3 == 1, Unlimited = v % 5 == 1,
            AttemptCount = v % 4, Attempts = v % 4 == 0 ? null : $"primary:{v}", Error = v % 6 == 0 ? null : $"error {v}",
            Feature = v % 2 == 0 ? null : $"feature-{v}", Task = v % 3 == 0 ? null : $"task-{v}",
            StartedAt = new DateTimeOffset(2026, 3, 1, 11, 0, 0, TimeSpan.Zero).AddTicks(v * 7_919), DurationMs = v + 14,
            FirstByteMs = v % 4 == 1 ? null : v + 15, UsageClamped = v % 7 == 1,
        };
    }

    private static async Task<Guid> CreateAccountAsync(LedgerDatabaseFixture db)
    {
        await using var context = new LedgerDbContext(db.Options);
        var account = new Account { Id = Guid.NewGuid(), Name = $"records-{Guid.NewGuid():N}", CreatedAt = DateTimeOffset.UtcNow };
        context.Accounts.Add(account);
        await context.SaveChangesAsync();
        return account.Id;
    }
}
