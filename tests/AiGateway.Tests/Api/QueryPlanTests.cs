using System.Data.Common;
using AiGateway.Api;
using AiGateway.Ledger;
using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Api;

/// <summary>
/// Every read of an account's history (usage and ledger pages, their look-ups, export chunks, summaries) asked of the
/// database's planner: the SQL comes from the code paths themselves, and a plan that scans a table, sorts an
/// account's rows for ORDER BY, or uses another index than the one meant for it fails the test. On PostgreSQL the
/// planner is told not to scan or sort when it has any other way (<c>enable_seqscan/enable_sort/enable_bitmapscan = off</c>),
/// so a scan or sort left in the plan means no index can serve the query.
/// </summary>
public abstract class QueryPlanTests<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    /// <summary>A query the history views run, with the index it must be answered from.</summary>
    public sealed record PlannedQuery(string Name, Func<LedgerDbContext, IQueryable<object>>? Build, string Index, bool Ordered = true)
    {
        /// <summary>A raw SQL statement of the gateway's own (instead of <see cref="Build"/>), with its parameters.</summary>
        public Func<LedgerDbContext, DbCommand>? Raw { get; init; }

        /// <summary>A day list that must drive the index probes (outer loop), one probe per day.</summary>
        public bool PerDay { get; init; }

        /// <summary>Each daily-totals row must drive one probe of the half-hourly totals by its model and status (the key's order).</summary>
        public bool DrivenByDailyTotals { get; init; }

        /// <summary>
        /// The index must be entered by the account (its condition names <c>account_id</c>): PostgreSQL, told not to scan,
        /// otherwise walks a whole index whose leading column is the account, which is a scan of every account's history.
        /// </summary>
        public bool ByAccount { get; init; } = true;
    }

    private static readonly Guid Account = Guid.Parse("0197a1b2-0000-7000-8000-000000000001");

    /// <summary>The listed queries, built by the same methods the endpoints call.</summary>
    public static IEnumerable<PlannedQuery> Queries()
    {
        var types = AccountQueries.DefaultLedgerTypes;
        var allTypes = AccountQueries.LedgerTypes("all", out var all) is null ? all : throw new InvalidOperationException();
        var day = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        yield return new("usage first page", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, null, null, null), null, 50), "IX_call_records_account_id_id");
        yield return new("usage cursor page", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, null, null, null), 1_000, 50), "IX_call_records_account_id_id");
        yield return new("usage page in a date range", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, day, day.AddDays(7), null, null, null), 1_000, 50), "IX_call_records_account_id_id");
        yield return new("usage page by model", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, "o3", null, null), null, 50), "IX_call_records_account_id_id");
        yield return new("usage page by feature", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, null, "chat", null), 1_000, 50), "IX_call_records_account_id_feature_id");
        yield return new("usage page by task", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, null, null, null, "task-1"), 1_000, 50), "IX_call_records_account_id_task_id");
        yield return new("admin usage page by status", db => AccountQueries.UsagePageQuery(AccountQueries.Calls(db, Account, null, null, null, null, 502), null, 50), "IX_call_records_account_id_id");
        yield return new("ledger first page", db => AccountQueries.LedgerPageQuery(db, Account, types, null, null, null, 50), "IX_ledger_entries_account_id_id");
        yield return new("ledger cursor page", db => AccountQueries.LedgerPageQuery(db, Account, types, null, null, 5_000, 50), "IX_ledger_entries_account_id_id");
        yield return new("ledger page of one type", db => AccountQueries.LedgerPageQuery(db, Account, ["grant"], null, null, 5_000, 50),
            // Either serves it in order; PostgreSQL picks by the account's size.
            "IX_ledger_entries_account_id_type_id|IX_ledger_entries_account_id_id");
        yield return new("ledger page: models of its calls", db => AccountQueries.CallModelsQuery(db, ["req-a", "req-b", "req-c"]), "IX_call_records_request_id", Ordered: false) { ByAccount = false };
        yield return new("ledger page: labels of its lots", db => AccountQueries.LotLabelsQuery(db, [1, 2, 3]), "PK_credit_lots|INTEGER PRIMARY KEY", Ordered: false) { ByAccount = false };
        yield return new("usage export chunk", db => CsvExportApi.UsageChunkQuery(AccountQueries.Calls(db, Account, null, null, null, null, null), 0), "IX_call_records_account_id_id");
        yield return new("ledger export chunk", db => CsvExportApi.LedgerChunkQuery(AccountQueries.Ledger(db, Account, allTypes, null, null), 0), "IX_ledger_entries_account_id_id");
        var hour = day.UtcTicks;
        yield return new("summary rollups by key", db => AccountQueries.RollupSlicesQuery(db, Account, hour, hour + 180 * TimeSpan.TicksPerDay, "key"),
            "PK_usage_rollups|sqlite_autoindex_usage_rollups_1|PRIMARY KEY", Ordered: false);
        yield return new("summary rollups by task", db => AccountQueries.RollupSlicesQuery(db, Account, hour, hour + 180 * TimeSpan.TicksPerDay, "task"),
            "PK_usage_rollups|sqlite_autoindex_usage_rollups_1|PRIMARY KEY", Ordered: false);
        yield return new("summary calls above the rollup watermark", db => AccountQueries.RollupTailQuery(db, Account, 1_000), "IX_call_records_account_id_id");
        // PostgreSQL may read a narrow time range over (started_at, id) instead, filtering the account: as cheap for a
        // range of minutes, and it prefers the account's index once its statistics see many accounts.
        yield return new("summary calls of a partial hour", db => AccountQueries.Calls(db, Account, day.AddMinutes(10), day.AddMinutes(60), null, null, null),
            "IX_call_records_account_id_started_at|IX_call_records_started_at_id", Ordered: false) { ByAccount = false };
        yield return new("all-accounts export chunk", db => CsvExportApi.UsageChunkQuery(db.CallRecords.AsNoTracking(), 1_000), "PK_call_records|INTEGER PRIMARY KEY") { ByAccount = false };
        yield return new("all-accounts export chunk from a time", db => CsvExportApi.UsageTimeChunkQuery(db.CallRecords.AsNoTracking().Where(r => r.StartedAt >= day), day, 0),
            "IX_call_records_started_at_id") { ByAccount = false };
        var firstDay = day.UtcTicks;
        var lastDay = firstDay + 180 * TimeSpan.TicksPerDay;
        yield return new("summary daily totals by day", db => AccountQueries.DailyTotalsQuery(db, Account, firstDay, lastDay, "day"),
            "PK_usage_daily_totals|sqlite_autoindex_usage_daily_totals_1|PRIMARY KEY", Ordered: false);
        yield return new("summary daily totals by model", db => AccountQueries.DailyTotalsQuery(db, Account, firstDay, lastDay, "model"),
            "PK_usage_daily_totals|sqlite_autoindex_usage_daily_totals_1|PRIMARY KEY", Ordered: false);
        yield return new("summary daily rollups by key", db => AccountQueries.DailySlicesQuery(db, Account, firstDay, lastDay, "key"),
            "PK_usage_daily_rollups|sqlite_autoindex_usage_daily_rollups_1|PRIMARY KEY", Ordered: false);
        yield return new("summary daily tasks", db => AccountQueries.DailyTasksQuery(db, Account, firstDay, lastDay),
            "PK_usage_daily_tasks|sqlite_autoindex_usage_daily_tasks_1|PRIMARY KEY", Ordered: false);
        yield return new("summary daily rollups by feature", db => AccountQueries.DailySlicesQuery(db, Account, firstDay, lastDay, "feature"),
            "PK_usage_daily_rollups|sqlite_autoindex_usage_daily_rollups_1|PRIMARY KEY", Ordered: false);
        // Day at +12:00: the second half of each UTC day from the half-hourly totals, each day's daily totals per model and
        // status driving one key range each (no temp B-tree for the grouping on SQLite: Ordered); at +05:45 the straddling
        // half hours' totals the same way (grouped by local day too) and the calls of their shorter piece; at offset 0 the
        // half hours at a range's ends.
        yield return new("summary half hours of shifted days", null, "PK_usage_halfhour_totals|sqlite_autoindex_usage_halfhour_totals_1|PRIMARY KEY")
        {
            DrivenByDailyTotals = true,
            Raw = db => AccountQueries.ShiftedDaysCommand(db, AccountQueries.HalfHourPartsSql(db.Database.IsNpgsql(), oneLocalDay: true), Account, firstDay, lastDay,
                12 * TimeSpan.TicksPerHour, TimeSpan.TicksPerDay, firstDay, lastDay, 12 * TimeSpan.TicksPerHour, 0),
        };
        yield return new("summary straddling half hours' totals", null, "PK_usage_halfhour_totals|sqlite_autoindex_usage_halfhour_totals_1|PRIMARY KEY", Ordered: false)
        {
            DrivenByDailyTotals = true,
            Raw = db => AccountQueries.ShiftedDaysCommand(db, AccountQueries.HalfHourPartsSql(db.Database.IsNpgsql(), oneLocalDay: false), Account, firstDay, lastDay,
                18 * TimeSpan.TicksPerHour, 18 * TimeSpan.TicksPerHour + 30 * TimeSpan.TicksPerMinute, firstDay, lastDay, 345 * TimeSpan.TicksPerMinute, 0),
        };
        yield return new("summary half hours at a range's end", null, "PK_usage_halfhour_totals|sqlite_autoindex_usage_halfhour_totals_1|PRIMARY KEY")
        {
            DrivenByDailyTotals = true,
            Raw = db => AccountQueries.ShiftedDaysCommand(db, AccountQueries.HalfHourPartsSql(db.Database.IsNpgsql(), oneLocalDay: true), Account, firstDay,
                firstDay + TimeSpan.TicksPerDay, 0, TimeSpan.TicksPerDay, firstDay + TimeSpan.TicksPerHour, firstDay + 23 * TimeSpan.TicksPerHour, 0, 0),
        };
        yield return new("summary calls of straddling half hours", null, "IX_call_records_account_id_started_at|IX_call_records_started_at_id", Ordered: false)
        {
            PerDay = true,
            Raw = db => AccountQueries.ShiftedDaysCommand(db, AccountQueries.StraddleCallsSql(db.Database.IsNpgsql()), Account, firstDay, lastDay, 18 * TimeSpan.TicksPerHour,
                18 * TimeSpan.TicksPerHour + 15 * TimeSpan.TicksPerMinute, firstDay, lastDay, 345 * TimeSpan.TicksPerMinute, 1_000_000_000),
        };
        yield return new("sweep: expired active holds", null, "IX_credit_holds_active_expires_at", Ordered: false)
        {
            ByAccount = false,
            Raw = db => Command(db, CreditLedger.DueHoldsSql, ("@now", day.UtcTicks)),
        };
        yield return new("compaction: old hold movements", null, "IX_ledger_entries_account_id_type_id")
        {
            Raw = db => AiGateway.History.HoldCompaction.Command(db, db.Database.GetDbConnection(), null, AiGateway.History.HoldCompaction.MovementsSql,
                Account, "hold", 0, day.UtcTicks, 2000),
        };
        yield return new("compaction: old resolved holds", null, "IX_credit_holds_account_id_task", Ordered: false)
        {
            Raw = db => AiGateway.History.HoldCompaction.Command(db, db.Database.GetDbConnection(), null, AiGateway.History.HoldCompaction.HoldsSql,
                Account, null, 0, day.UtcTicks, 2000),
        };
    }

    /// <summary>The query names, for the theory.</summary>
    public static TheoryData<string> Names() => new(Queries().Select(q => q.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Plan_ListedQuery_UsesItsIndexWithoutScanOrSort(string name)
    {
        var query = Queries().Single(q => q.Name == name);
        await using var db = new LedgerDbContext(fixture.Options);
        await SeedOnceAsync();
        await db.Database.OpenConnectionAsync();
        await using var command = query.Raw?.Invoke(db) ?? query.Build!(db).CreateDbCommand();
        var plan = await PlanAsync(db, command);

        var text = string.Join("\n", plan);
        var indexes = query.Index.Split('|');
        Assert.True(plan.Any(line => indexes.Any(i => line.Contains(i, StringComparison.Ordinal))), $"{name}: expected {query.Index}, plan:\n{text}");
        Assert.False(plan.Any(IsTableScan), $"{name}: scans a table, plan:\n{text}");
        if (query.Ordered) Assert.False(plan.Any(IsSort), $"{name}: sorts for ORDER BY, plan:\n{text}");
        if (query.ByAccount)
        {
            // SQLite: "SEARCH r USING PRIMARY KEY (account_id=? AND …)"; PostgreSQL: "Index Cond: ((account_id = …"
            Assert.True(plan.Any(line => line.Contains("account_id=", StringComparison.Ordinal) || (line.Contains("Index Cond", StringComparison.Ordinal)
                && line.Contains("account_id = ", StringComparison.Ordinal))), $"{name}: the index is not entered by the account, plan:\n{text}");
        }
        if (query.PerDay)
        {
            // SQLite lists the outer loop first; PostgreSQL shows the day in the index condition of the inner scan.
            var probe = plan.FindIndex(line => indexes.Any(i => line.Contains(i, StringComparison.Ordinal)));
            var perDay = db.Database.IsNpgsql()
                ? plan.Any(line => line.Contains("Cond", StringComparison.Ordinal) && line.Contains("days.d", StringComparison.Ordinal))
                : plan.FindLastIndex(line => line.Trim() == "SCAN days") < probe;
            Assert.True(perDay, $"{name}: the index is not probed once per day, plan:\n{text}");
        }
        if (query.DrivenByDailyTotals)
        {
            // SQLite: the daily totals' loop comes first and the half hours are searched by model and status (the key's
            // order); PostgreSQL: the inner scan's condition names the daily row's model and status, ahead of the half hour.
            var outer = plan.FindIndex(line => line.TrimStart().StartsWith("SEARCH t ", StringComparison.Ordinal));
            var inner = plan.FindIndex(line => line.TrimStart().StartsWith("SEARCH r ", StringComparison.Ordinal));
            var driven = db.Database.IsNpgsql()
                ? plan.Any(line => line.Contains("Index Cond", StringComparison.Ordinal) && line.Contains("(model)::text = (t.model)::text", StringComparison.Ordinal)
                    && line.Contains("status_code = t.status_code", StringComparison.Ordinal)
                    // Conditions are listed in the index's column order: the model's before the half hour's range.
                    && line.IndexOf("(model)::text = (t.model)::text", StringComparison.Ordinal) < line.IndexOf("half_hour_start >=", StringComparison.Ordinal))
                : outer >= 0 && outer < inner && plan[inner].Contains("(account_id=? AND model=? AND status_code=? AND half_hour_start>?", StringComparison.Ordinal);
            Assert.True(driven, $"{name}: the half hours are not read per daily row by model and status, plan:\n{text}");
        }
    }

    private static DbCommand Command(LedgerDbContext db, string sql, params (string Name, object Value)[] parameters)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }
        return command;
    }

    private static async Task<List<string>> PlanAsync(LedgerDbContext db, DbCommand command)
    {
        var postgres = db.Database.IsNpgsql();
        if (postgres)
        {
            await using var settings = db.Database.GetDbConnection().CreateCommand();
            settings.CommandText = "SET enable_seqscan = off; SET enable_sort = off; SET enable_bitmapscan = off";
            await settings.ExecuteNonQueryAsync();
        }
        command.CommandText = (postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + command.CommandText;
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(postgres ? 0 : 3));
        return lines;
    }

    // SQLite: "SCAN call_records" (a json_each or constant row is the parameter list, not a table, and "days" the day list
    // of a recursive CTE); PostgreSQL: "Seq Scan on".
    private static bool IsTableScan(string line) =>
        line.Contains("Seq Scan", StringComparison.Ordinal) ||
        (line.TrimStart().StartsWith("SCAN ", StringComparison.Ordinal) && !line.Contains("json_each", StringComparison.Ordinal)
                                                                        && !line.Contains("CONSTANT ROW", StringComparison.Ordinal)
                                                                        && line.Trim() != "SCAN days");

    private static bool IsSort(string line) =>
        line.Contains("TEMP B-TREE", StringComparison.Ordinal) || line.TrimStart().StartsWith("Sort", StringComparison.Ordinal) ||
        line.Contains("-> Sort", StringComparison.Ordinal) || line.Contains("Incremental Sort", StringComparison.Ordinal);

    private static readonly SemaphoreSlim Seeding = new(1, 1);
    private static readonly HashSet<string> Seeded = [];

    // The queried account is a small one beside a heavy one, so PostgreSQL's statistics look like a real ledger's and
    // a walk of the whole table in id order (cheap for the heaviest account, ruinous for the others) does not pay off
    // (SQLite plans without statistics, as the gateway never runs ANALYZE).
    private async Task SeedOnceAsync()
    {
        await Seeding.WaitAsync();
        try
        {
            if (!Seeded.Add(fixture.Provider)) return;
            await using (var db = new LedgerDbContext(fixture.Options))
            {
                db.Accounts.Add(new AiGateway.Accounts.Account { Id = Account, Name = "queried", CreatedAt = DateTimeOffset.UtcNow });
                await db.SaveChangesAsync();
            }
            var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var heavyAccount = await HistorySeed.AccountAsync(fixture.Options, "heavy");
            var heavy = Enumerable.Range(0, 1500).Select(n => HistorySeed.Call(heavyAccount, n, start.AddMinutes(n * 7))).ToList();
            await HistorySeed.CallsAsync(fixture.Options, heavy);
            await HistorySeed.MovementsAsync(fixture.Options, heavyAccount, heavy);
            var queried = Enumerable.Range(0, 60).Select(n => HistorySeed.Call(Account, n, start.AddHours(n * 3))).ToList();
            await HistorySeed.CallsAsync(fixture.Options, queried);
            await HistorySeed.MovementsAsync(fixture.Options, Account, queried);
            for (var a = 0; a < 10; a++)
            {
                var light = await HistorySeed.AccountAsync(fixture.Options, $"light {a}");
                var calls = Enumerable.Range(0, 10).Select(n => HistorySeed.Call(light, n, start.AddHours(n))).ToList();
                await HistorySeed.CallsAsync(fixture.Options, calls);
                await HistorySeed.MovementsAsync(fixture.Options, light, calls);
            }
            await using var analyze = new LedgerDbContext(fixture.Options);
            if (analyze.Database.IsNpgsql())
            {
                // A heavy account's 100,000 calls and movements, so the statistics are those of a ledger in use.
                // Values are this test's own constants (an account id and ticks), not input.
                var bulk = $"""
                    INSERT INTO call_records (request_id, account_id, key_id, route, provider, model, operation, stream, input_tokens,
                        cached_input_tokens, cache_write_input_tokens, output_tokens, reasoning_tokens, images, video_seconds, audio_uses,
                        estimated_input_tokens, estimated_output_tokens, estimate_micro, charged_micro, overage_micro, status_code,
                        usage_source, clamped, unlimited, attempt_count, feature, task, started_at, duration_ms)
                    SELECT 'bulk-' || g, '{heavyAccount}', '{heavyAccount}', 'openai', 'openai', 'gpt-4o', 'chat', false, 100, 0, 0, 50, 0,
                        0, 0, 0, 100, 50, 1000, 1000, 0, 200, 'provider', false, false, 1, 'chat', NULL, {start.UtcTicks} + g::bigint * 600000000, 10
                    FROM generate_series(1, 100000) g;
                    INSERT INTO ledger_entries (account_id, at, type, amount, available_after, request_id)
                    SELECT '{heavyAccount}', {start.UtcTicks} + g::bigint * 600000000, 'settle', 1000, 0, 'bulk-' || g FROM generate_series(1, 100000) g;
                    ANALYZE;
                    """;
                await analyze.Database.ExecuteSqlRawAsync(bulk);
            }
        }
        finally
        {
            Seeding.Release();
        }
    }
}

/// <summary>The query plans on SQLite.</summary>
public sealed class SqliteQueryPlanTests(SqliteLedgerFixture fixture) : QueryPlanTests<SqliteLedgerFixture>(fixture);

/// <summary>The query plans on PostgreSQL.</summary>
public sealed class PostgresQueryPlanTests(PostgresLedgerFixture fixture) : QueryPlanTests<PostgresLedgerFixture>(fixture);
