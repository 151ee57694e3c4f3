using System.Data.Common;
using AiGateway.Pricing;
using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Storage;

/// <summary>
/// Migration 0015 on a SQLite ledger written before it (every GUID as the upper-case 36-char TEXT EF Core wrote): every
/// GUID column of every table holds 16-byte BLOBs afterwards, in <see cref="SqliteGuid"/>'s byte order, and the app
/// reads the same accounts, keys, calls, charges, lots, rollups and balances — and keeps writing to them.
/// </summary>
public sealed class GuidBlobMigrationTests(GuidBlobMigrationTests.Fixture fixture) : IClassFixture<GuidBlobMigrationTests.Fixture>
{
    // Mixed digits and letters in every group, so a byte-order or case slip changes the value.
    private static readonly Guid AccountA = Guid.Parse("0197a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b");
    private static readonly Guid AccountB = Guid.Parse("0197a1b2-ffee-7dcb-a987-6543210fedcb");
    private static readonly Guid KeyA = Guid.Parse("0197a1b3-1111-7abc-9def-0123456789ab");
    private static readonly Guid KeyB = Guid.Parse("0197a1b3-2222-7fed-8cba-ba9876543210");
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A SQLite ledger seeded before migration 0015 with a row in every table that has a GUID column.</summary>
    public sealed class Fixture : SqliteLedgerFixture
    {
        protected override string? SeedBefore => "0015_guid_blobs";

        protected override async Task SeedAsync(DbConnection connection)
        {
            static string T(Guid id) => $"'{id.ToString().ToUpperInvariant()}'"; // as EF Core stored Guids before 0015
            string a = T(AccountA), b = T(AccountB), ka = T(KeyA), kb = T(KeyB);
            var t = Start.UtcTicks;
            var day = t - t % TimeSpan.TicksPerDay;
            var hour = t - t % TimeSpan.TicksPerHour;
            var later = t + TimeSpan.TicksPerDay;
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                INSERT INTO accounts (id, name, created_at, plan) VALUES ({a}, 'a', {t}, NULL), ({b}, 'b', {t}, NULL);
                INSERT INTO gateway_keys (id, account_id, name, prefix, hash, created_at) VALUES ({ka}, {a}, 'ka', 'gw-a', 'hash-a', {t}), ({kb}, {b}, 'kb', 'gw-b', 'hash-b', {t});
                INSERT INTO ledger_accounts (account_id, held, overage, updated_at) VALUES ({a}, 0, 0, {t}), ({b}, 0, 0, {t});
                INSERT INTO credit_lots (id, account_id, kind, amount, remaining, consumed, expired, revoked, effective_at, expires_at, reason, created_at)
                VALUES (1, {a}, 'bonus', 100000000, 98000000, 2000000, 0, 0, {t}, NULL, 'seed', {t}),
                       (2, {b}, 'bonus', 50000000, 50000000, 0, 0, 0, {t}, NULL, 'seed', {t});
                INSERT INTO credit_charges (id, account_id, request_id, amount, overage, created_at) VALUES (1, {a}, 'req-a', 2000000, 0, {t});
                INSERT INTO charge_allocations (charge_id, lot_id, amount) VALUES (1, 1, 2000000);
                INSERT INTO credit_holds (account_id, request_id, amount, status, created_at, expires_at, resolved_at, charge_id, task)
                VALUES ({a}, 'req-a', 3000000, 'settled', {t}, {later}, {t}, 1, 'task-1');
                INSERT INTO ledger_entries (account_id, at, type, amount, available_after, lot_id, request_id)
                VALUES ({a}, {t}, 'grant', 100000000, 100000000, 1, NULL), ({a}, {t}, 'settle', -2000000, 98000000, NULL, 'req-a'),
                       ({b}, {t}, 'grant', 50000000, 50000000, 2, NULL);
                INSERT INTO credit_leases (account_id, instance_id, amount, expires_at, backed_until, recall, updated_at) VALUES ({b}, 'instance-1', 0, {t}, {t}, 0, {t});
                INSERT INTO task_budgets (account_id, task, budget_micro, created_at, updated_at) VALUES ({a}, 'task-1', 9000000, {t}, {t});
                INSERT INTO video_jobs (account_id, video_id, request_id, cost_micro, priced_model, created_at) VALUES ({b}, 'video-1', 'req-v', 1000000, 'sora-2', {t});
                INSERT INTO notification_accounts (account_id, last_grant, low_armed, low_episode, exhausted_armed, exhausted_episode, updated_at)
                VALUES ({a}, 100000000, 1, 0, 1, 0, {t});
                INSERT INTO notification_events (id, account_id, type, episode, payload, created_at) VALUES ('evt-1', {a}, 'credits.low', 'low:1', '{"{}"}', {t});
                INSERT INTO call_records (request_id, account_id, key_id, route, provider, model, operation, stream, input_tokens, cached_input_tokens,
                    cache_write_input_tokens, output_tokens, reasoning_tokens, images, video_seconds, audio_uses, estimated_input_tokens,
                    estimated_output_tokens, estimate_micro, charged_micro, overage_micro, status_code, usage_source, clamped, unlimited,
                    attempt_count, started_at, duration_ms, usage_clamped, task)
                VALUES ('req-a', {a}, {ka}, 'openai', 'openai', 'gpt-4o', 'OpenAiChatCompletions', 0, 10, 0, 0, 20, 0, 0, 0, 0, 10, 20, 3000000, 2000000, 0, 200, 'provider', 0, 0, 1, {t}, 5, 0, 'task-1'),
                       ('req-b', {b}, {kb}, 'openai', 'openai', 'gpt-4o', 'OpenAiChatCompletions', 0, 10, 0, 0, 20, 0, 0, 0, 0, 10, 20, 3000000, 0, 0, 400, 'none', 0, 0, 1, {t}, 5, 0, NULL);
                INSERT INTO usage_rollups (account_id, hour_start, key_id, model, feature, task, status_code, calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
                VALUES ({a}, {hour}, {ka}, 'gpt-4o', '', 'task-1', 200, 1, 10, 0, 20, 0, 2000000, 0);
                INSERT INTO usage_daily_rollups (account_id, day_start, key_id, model, feature, task, status_code, calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
                VALUES ({a}, {day}, {ka}, 'gpt-4o', '', 'task-1', 200, 1, 10, 0, 20, 0, 2000000, 0);
                INSERT INTO usage_daily_totals (account_id, day_start, model, status_code, calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
                VALUES ({a}, {day}, 'gpt-4o', 200, 1, 10, 0, 20, 0, 2000000, 0);
                INSERT INTO usage_daily_tasks (account_id, day_start, task, status_code, calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
                VALUES ({a}, {day}, 'task-1', 200, 1, 10, 0, 20, 0, 2000000, 0);
                INSERT INTO usage_halfhour_totals (account_id, half_hour_start, model, status_code, calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
                VALUES ({a}, {hour}, 'gpt-4o', 200, 1, 10, 0, 20, 0, 2000000, 0);
                """;
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task EveryGuidColumn_HoldsSixteenByteBlobs_InSqliteGuidOrder()
    {
        await using var db = new LedgerDbContext(fixture.Options);
        var columns = GuidColumns(db);
        Assert.Equal(22, columns.Count); // every uuid column of the PostgreSQL model
        foreach (var (table, column) in columns)
        {
            var rows = await ScalarAsync(db, $"SELECT COUNT(*) FROM \"{table}\"");
            Assert.True(rows > 0, $"{table} has no seeded row");
            var text = await ScalarAsync(db, $"SELECT COUNT(*) FROM \"{table}\" WHERE typeof(\"{column}\") <> 'blob' OR length(\"{column}\") <> 16");
            Assert.True(text == 0, $"{table}.{column}: {text} of {rows} rows are not 16-byte BLOBs");
        }
        // The stored bytes are the text form's hex digits in order (what SqliteGuid binds, so lookups find the rows).
        Assert.Equal(AccountA.ToString("N").ToUpperInvariant(), await TextAsync(db, "SELECT hex(account_id) FROM call_records WHERE request_id = 'req-a'"));
        Assert.Equal(KeyB.ToString("N").ToUpperInvariant(), await TextAsync(db, "SELECT hex(key_id) FROM call_records WHERE request_id = 'req-b'"));
    }

    [Fact]
    public async Task TheAppReadsTheSameRows_AndKeepsWriting()
    {
        await using (var db = new LedgerDbContext(fixture.Options))
        {
            Assert.Equal([AccountA, AccountB], await db.Accounts.AsNoTracking().OrderBy(a => a.Id).Select(a => a.Id).ToListAsync());
            Assert.Equal([(KeyA, AccountA), (KeyB, AccountB)],
                (await db.GatewayKeys.AsNoTracking().OrderBy(k => k.Name).ToListAsync()).Select(k => (k.Id, k.AccountId)));
            Assert.Equal([("req-a", AccountA, KeyA), ("req-b", AccountB, KeyB)],
                (await db.CallRecords.AsNoTracking().OrderBy(r => r.Id).ToListAsync()).Select(r => (r.RequestId, r.AccountId, r.KeyId)));
            var charge = await db.CreditCharges.AsNoTracking().SingleAsync();
            Assert.Equal(("req-a", AccountA), (charge.RequestId, charge.AccountId));
            Assert.Equal(KeyA, (await db.UsageRollups.AsNoTracking().SingleAsync(r => r.AccountId == AccountA)).KeyId);
            Assert.Equal(2, await db.LedgerEntries.CountAsync(e => e.AccountId == AccountA));
            Assert.Equal("b", (await db.Accounts.SingleAsync(x => x.Id == AccountB)).Name);
        }
        var ledger = fixture.CreateLedger(new ManualTimeProvider(Start.AddMinutes(1)));
        var a = (await ledger.GetBalanceAsync(AccountA))!;
        Assert.Equal((98_000_000L, 0L), (a.Available.Micro, a.Held.Micro));
        Assert.Equal(50_000_000L, (await ledger.GetBalanceAsync(AccountB))!.Available.Micro);

        // A grant after the migration lands on the converted account (raw SQL binds the same bytes the migration wrote).
        await ledger.GrantAsync(AccountA, "bonus", Credits.FromCredits(5), null, null, "after 0015", null);
        Assert.Equal(103_000_000L, (await ledger.GetBalanceAsync(AccountA))!.Available.Micro);
        await using (var db = new LedgerDbContext(fixture.Options))
        {
            Assert.Equal(0, await ScalarAsync(db, "SELECT COUNT(*) FROM ledger_entries WHERE typeof(account_id) <> 'blob'"));
            Assert.Equal(3, await ScalarAsync(db, "SELECT COUNT(*) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id WHERE a.name = 'a'"));
        }
    }

    [Fact]
    public async Task ArchiveLines_ShowTheIdsAsTheTextDid()
    {
        var folder = Path.Combine(Path.GetTempPath(), "aigw-guid-archive-" + Guid.NewGuid().ToString("N"));
        try
        {
            var archive = new AiGateway.History.CallArchive(folder);
            await using var db = new LedgerDbContext(fixture.Options);
            var (file, rows, _) = await archive.WritePartAsync("2026-11", 2, db.CallRecords.AsNoTracking().OrderBy(r => r.Id).AsAsyncEnumerable(), default);
            Assert.Equal(2, rows);
            await using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(folder, file)), System.IO.Compression.CompressionMode.Decompress);
            var first = new StreamReader(gzip).ReadLine()!;
            // The lower-case text form, as the archive wrote the TEXT ids read into Guids before 0015.
            Assert.Contains($"\"accountId\":\"{AccountA}\",\"keyId\":\"{KeyA}\"", first, StringComparison.Ordinal);
            Assert.Contains("\"accountId\":\"0197a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b\"", first, StringComparison.Ordinal);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>(table, column) of every Guid property of the EF model.</summary>
    internal static List<(string Table, string Column)> GuidColumns(LedgerDbContext db) =>
        db.Model.GetEntityTypes()
            .SelectMany(e => e.GetProperties().Where(p => Nullable.GetUnderlyingType(p.ClrType) == typeof(Guid) || p.ClrType == typeof(Guid))
                .Select(p => (e.GetTableName()!, p.GetColumnName())))
            .OrderBy(c => c.Item1, StringComparer.Ordinal).ThenBy(c => c.Item2, StringComparer.Ordinal).ToList();

    private static async Task<long> ScalarAsync(LedgerDbContext db, string sql) => (long)(await RunAsync(db, sql))!;

    private static async Task<string?> TextAsync(LedgerDbContext db, string sql) => (string?)await RunAsync(db, sql);

    private static async Task<object?> RunAsync(LedgerDbContext db, string sql)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await db.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
