using System.Data.Common;
using System.Text.Json;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// Migration 0014 on a populated database: the interrupted-call record of an active hold moves from the hold row to
/// <c>credit_hold_records</c> (a settled hold's stale one does not), and the sweep still stores it when the hold expires.
/// </summary>
public abstract class HoldRecordMigrationTests<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    /// <summary>The seeded account (held = the active hold's amount, as the ledger keeps it).</summary>
    internal static readonly Guid Account = Guid.Parse("0197a1b2-0000-7000-8000-0000000000aa");

    /// <summary>When the holds were made; the active one expires a minute later.</summary>
    internal static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Rows as the gateway wrote them before 0014: an active hold carrying its record, a settled hold whose record was never cleared.</summary>
    internal static async Task SeedAsync(DbConnection connection, bool postgres)
    {
        var record = JsonSerializer.Serialize(new AiGateway.Storage.CallRecord
        {
            RequestId = "req-active", AccountId = Account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
            Operation = "OpenAiChatCompletions", UsageSource = AiGateway.Storage.CallRecord.InterruptedUsageSource, EstimateMicro = 5_000_000, StartedAt = Start,
        }, CallRecordJson.Default.CallRecord);
        var id = postgres ? $"'{Account}'" : $"'{Account.ToString().ToUpperInvariant()}'";
        var t = Start.UtcTicks;
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO accounts (id, name, created_at, plan) VALUES ({id}, 'seeded', {t}, NULL);
            INSERT INTO ledger_accounts (account_id, held, overage, updated_at) VALUES ({id}, 5000000, 0, {t});
            INSERT INTO credit_lots (account_id, kind, amount, remaining, consumed, expired, revoked, effective_at, expires_at, reason, created_at)
            VALUES ({id}, 'bonus', 100000000, 100000000, 0, 0, 0, {t}, NULL, 'seed', {t});
            INSERT INTO credit_holds (account_id, request_id, amount, status, created_at, expires_at, resolved_at, charge_id, task, interrupted_record)
            VALUES ({id}, 'req-active', 5000000, 'active', {t}, {t + TimeSpan.TicksPerMinute}, NULL, NULL, NULL, @record),
                   ({id}, 'req-settled', 1000000, 'settled', {t}, {t + TimeSpan.TicksPerMinute}, {t}, NULL, NULL, @record);
            """;
        var p = command.CreateParameter();
        p.ParameterName = "@record";
        p.Value = record;
        command.Parameters.Add(p);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Migration0014_ActiveHoldsRecordMoved_SweepStoresItAsInterrupted()
    {
        await using (var db = new LedgerDbContext(fixture.Options))
        {
            var holds = await db.CreditHolds.AsNoTracking().Where(h => h.AccountId == Account).ToDictionaryAsync(h => h.RequestId, h => h.Id);
            var moved = await db.CreditHoldRecords.AsNoTracking().ToListAsync();
            Assert.Equal([holds["req-active"]], moved.Select(r => r.HoldId));
            Assert.Equal("req-active", JsonSerializer.Deserialize(moved[0].Record, CallRecordJson.Default.CallRecord)!.RequestId);
        }
        var clock = new ManualTimeProvider(Start.AddMinutes(2));
        var ledger = fixture.CreateLedger(clock);

        Assert.Equal(1, await ledger.ExpireHoldsAsync());

        await using (var db = new LedgerDbContext(fixture.Options))
        {
            var call = await db.CallRecords.AsNoTracking().SingleAsync(r => r.AccountId == Account);
            Assert.Equal(("req-active", AiGateway.Storage.CallRecord.InterruptedUsageSource, 0L), (call.RequestId, call.UsageSource, call.ChargedMicro));
            Assert.Empty(await db.CreditHoldRecords.AsNoTracking().ToListAsync());
            Assert.Equal(0, (await ledger.GetBalanceAsync(Account))!.Held.Micro);
        }
    }
}

/// <summary>A SQLite ledger seeded before migration 0014.</summary>
public sealed class SqliteHoldRecordFixture : SqliteLedgerFixture
{
    protected override string? SeedBefore => "0014_storage";
    protected override Task SeedAsync(DbConnection connection) => HoldRecordMigrationTests<SqliteHoldRecordFixture>.SeedAsync(connection, postgres: false);
}

/// <summary>A PostgreSQL ledger seeded before migration 0014.</summary>
public sealed class PostgresHoldRecordFixture : PostgresLedgerFixture
{
    protected override string? SeedBefore => "0014_storage";
    protected override Task SeedAsync(DbConnection connection) => HoldRecordMigrationTests<PostgresHoldRecordFixture>.SeedAsync(connection, postgres: true);
}

/// <summary>Migration 0014 on SQLite.</summary>
public sealed class SqliteHoldRecordMigrationTests(SqliteHoldRecordFixture db) : HoldRecordMigrationTests<SqliteHoldRecordFixture>(db);

/// <summary>Migration 0014 on PostgreSQL.</summary>
public sealed class PostgresHoldRecordMigrationTests(PostgresHoldRecordFixture db) : HoldRecordMigrationTests<PostgresHoldRecordFixture>(db);
