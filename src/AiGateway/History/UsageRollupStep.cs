using System.Data.Common;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>
/// Folds call records into every rollup level (<see cref="Levels"/>: <see cref="UsageRollup"/>, <see cref="UsageDailyRollup"/>,
/// <see cref="UsageDailyTotal"/>, <see cref="UsageHalfHourTotal"/>, <see cref="UsageDailyTask"/>), in id order, from a durable watermark (the last call id rolled
/// up, in <c>history_watermarks</c>). Each step is one short transaction that adds a chunk of calls to the rollups and
/// moves the watermark together, so a crash or restart neither loses nor repeats a call, and two instances stepping at
/// once serialize on the watermark (SQLite: the write lock; PostgreSQL: its row lock). It runs beside the settlement
/// write rather than inside it, so the metered path pays nothing for it; summaries add the calls above the watermark.
/// </summary>
/// <remarks>
/// The watermark may only pass ids whose transactions have ended, or a call committed later with a smaller id would
/// be skipped for good. On SQLite writers are serial, so every id at or below the committed maximum is final. On
/// PostgreSQL ids come from a sequence in insertion order but commit in any order: the horizon is read under a brief
/// <c>SHARE</c> lock on <c>call_records</c>, which waits for every open inserting transaction to end.
/// </remarks>
public sealed class UsageRollupStep(IDbContextFactory<LedgerDbContext> dbFactory, DatabaseWriter writer, IOptions<HistoryOptions> options, TimeProvider time)
{
    /// <summary>The watermark's name.</summary>
    public const string WatermarkName = "usage_rollups";

    private const long TicksPerHour = TimeSpan.TicksPerHour;

    private const long TicksPerDay = TimeSpan.TicksPerDay;

    /// <summary>
    /// One level of the rollups: its table, time bucket (column and width in ticks) and the columns it keeps apart
    /// besides the account and the bucket, with the call-record expressions they come from.
    /// </summary>
    internal sealed record Level(string Table, string Bucket, long Ticks, string[] Columns, string[] From);

    private static readonly string[] FullColumns = ["key_id", "model", "feature", "task", "status_code"];
    private static readonly string[] FullFrom = ["key_id", "model", "COALESCE(feature, '')", "COALESCE(task, '')", "status_code"];
    private static readonly string[] TotalColumns = ["model", "status_code"];

    /// <summary>
    /// Every level, folded from the same chunk of calls in the transaction that moves the watermark and corrected
    /// together, so they always hold the same calls: hourly and daily per key × model × feature × task × status (for
    /// summaries by key and feature, and the hours at a range's ends), daily and half-hourly per model × status only
    /// (by day and by model), daily per task × status (by task).
    /// </summary>
    internal static readonly Level[] Levels =
    [
        new("usage_rollups", "hour_start", TicksPerHour, FullColumns, FullFrom),
        new("usage_daily_rollups", "day_start", TicksPerDay, FullColumns, FullFrom),
        new("usage_daily_totals", "day_start", TicksPerDay, TotalColumns, TotalColumns),
        new("usage_halfhour_totals", "half_hour_start", TicksPerHour / 2, TotalColumns, TotalColumns),
        new("usage_daily_tasks", "day_start", TicksPerDay, ["task", "status_code"], ["COALESCE(task, '')", "status_code"]),
    ];

    private static readonly string[] Sums = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "charged_micro", "overage_micro"];

    // One statement adds a chunk to one level of the rollups; the same text runs on SQLite (3.24+) and PostgreSQL.
    private static readonly string[] FoldSqls = Levels.Select(FoldSql).ToArray();

    /// <summary>
    /// Per level, the statement that adds one call (<c>@r</c>: its request id) to it — a rolled-up call whose record was
    /// replaced goes back in as it is now (see <see cref="UnfoldCallSqls"/>).
    /// </summary>
    internal static readonly string[] FoldCallSqls = Levels.Select(level => FoldSql(level, "request_id = @r")).ToArray();

    /// <summary>The call-record columns a call's rollup rows are keyed and summed by, in the order <see cref="UnfoldCallSqls"/> binds them.</summary>
    internal static readonly string[] CallColumns =
        ["account_id", "started_at", "key_id", "model", "feature", "task", "status_code", .. Sums];

    /// <summary>
    /// Statements that take one rolled-up call out of every level, given its record's values (<see cref="CallColumns"/>,
    /// bound as <c>@c0</c>, <c>@c1</c>, …: the row may be gone already): per level its row loses the call's count and
    /// sums, and goes when no call is left in it (a row of no calls would show in summaries as an empty status or model).
    /// </summary>
    internal static readonly string[] UnfoldCallSqls = Levels.SelectMany(UnfoldCallSql).ToArray();

    private static IEnumerable<string> UnfoldCallSql(Level level)
    {
        var call = $"""
            (SELECT account_id, started_at - (started_at % {level.Ticks}) AS b, {string.Join(", ", level.From.Select((from, j) => $"{from} AS k{j}"))},
                {string.Join(", ", Sums)}
            FROM (SELECT {string.Join(", ", CallColumns.Select((column, j) => $"@c{j} AS {column}"))}) AS v) AS c
            """;
        var match = string.Join(" AND ",
            new[] { $"{level.Table}.account_id = c.account_id", $"{level.Table}.{level.Bucket} = c.b" }
                .Concat(level.Columns.Select((column, j) => $"{level.Table}.{column} = c.k{j}")));
        yield return $"""
            UPDATE {level.Table} SET calls = {level.Table}.calls - 1, {string.Join(", ", Sums.Select(s => $"{s} = {level.Table}.{s} - c.{s}"))}
            FROM {call} WHERE {match}
            """;
        yield return $"DELETE FROM {level.Table} WHERE calls = 0 AND EXISTS (SELECT 1 FROM {call} WHERE {match})";
    }

    /// <summary>The statement that adds the calls with ids in <c>(@from, @to]</c> to a level.</summary>
    internal static string FoldSql(Level level) => FoldSql(level, "id > @from AND id <= @to");

    private static string FoldSql(Level level, string where)
    {
        var (table, bucket, ticks) = (level.Table, level.Bucket, level.Ticks);
        var groups = string.Join(", ", Enumerable.Range(1, level.Columns.Length + 2));
        return $"""
            INSERT INTO {table} (account_id, {bucket}, {string.Join(", ", level.Columns)}, calls, {string.Join(", ", Sums)})
            SELECT account_id, started_at - (started_at % {ticks}), {string.Join(", ", level.From)},
                COUNT(*), {string.Join(", ", Sums.Select(c => $"SUM({c})"))}
            FROM call_records WHERE {where}
            GROUP BY {groups}
            ON CONFLICT (account_id, {bucket}, {string.Join(", ", level.Columns)}) DO UPDATE SET
                calls = {table}.calls + excluded.calls,
                {string.Join(",\n        ", Sums.Select(c => $"{c} = {table}.{c} + excluded.{c}"))}
            """;
    }

    /// <summary>The watermark as committed now: every call with a smaller or equal id is in the rollups.</summary>
    public static async Task<long> ReadWatermarkAsync(LedgerDbContext db, CancellationToken ct) =>
        await db.HistoryWatermarks.AsNoTracking().Where(w => w.Name == WatermarkName).Select(w => (long?)w.Position).FirstOrDefaultAsync(ct) ?? 0;

    /// <summary>Rolls up chunks until the watermark reaches the calls committed when it started (at most <paramref name="maxChunks"/>); returns the calls added.</summary>
    public async Task<long> CatchUpAsync(int maxChunks = int.MaxValue, CancellationToken ct = default)
    {
        var horizon = await HorizonAsync(ct);
        long total = 0;
        for (var i = 0; i < maxChunks; i++)
        {
            var (added, done) = await StepAsync(horizon, ct);
            total += added;
            if (done) break;
        }
        return total;
    }

    /// <summary>The largest call id below which every insert has ended (see the remarks on the type).</summary>
    public async Task<long> HorizonAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Database.OpenConnectionAsync(ct);
        var connection = db.Database.GetDbConnection();
        if (!db.Database.IsNpgsql()) return await ScalarAsync(connection, null, "SELECT COALESCE(MAX(id), 0) FROM call_records", ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync(connection, tx, "SET LOCAL lock_timeout = '10s'; LOCK TABLE call_records IN SHARE MODE", ct);
        var horizon = await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(id), 0) FROM call_records", ct);
        await tx.CommitAsync(ct);
        return horizon;
    }

    /// <summary>Rolls up one chunk of calls up to <paramref name="horizon"/>; returns the calls added and whether the watermark reached it.</summary>
    public async Task<(long Added, bool Done)> StepAsync(long horizon, CancellationToken ct)
    {
        (long Added, bool Done) result = (0, true);
        await writer.WriteAsync(async db =>
        {
            await db.Database.OpenConnectionAsync(ct);
            var connection = db.Database.GetDbConnection();
            var postgres = db.Database.IsNpgsql();
            // SQLite: BEGIN IMMEDIATE takes the write lock first, so the watermark read below is the latest.
            await using var tx = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, tx,
                $"INSERT INTO history_watermarks (name, position, updated_at) VALUES ('{WatermarkName}', 0, 0) ON CONFLICT (name) DO NOTHING", ct);
            var from = await ScalarAsync(connection, tx,
                $"SELECT position FROM history_watermarks WHERE name = '{WatermarkName}'" + (postgres ? " FOR UPDATE" : ""), ct);
            if (from >= horizon)
            {
                await tx.RollbackAsync(ct);
                return;
            }
            var to = Math.Min(horizon, from + options.Value.RollupChunk);
            // Every level in the one transaction that moves the watermark: they always hold the same calls.
            foreach (var sql in FoldSqls)
            {
                await using var fold = Command(connection, tx, sql);
                Parameter(fold, "@from", from);
                Parameter(fold, "@to", to);
                await fold.ExecuteNonQueryAsync(ct);
            }
            await using (var move = Command(connection, tx, $"UPDATE history_watermarks SET position = @to, updated_at = @now WHERE name = '{WatermarkName}'"))
            {
                Parameter(move, "@to", to);
                Parameter(move, "@now", time.GetUtcNow().UtcTicks);
                await move.ExecuteNonQueryAsync(ct);
            }
            var added = await ScalarAsync(connection, tx, $"SELECT COUNT(*) FROM call_records WHERE id > {from} AND id <= {to}", ct);
            await tx.CommitAsync(ct);
            result = (added, to >= horizon);
        });
        return result;
    }

    /// <summary>
    /// Changes what a recorded call was charged (an asynchronous video job settles after its record was written) and,
    /// when the call is already rolled up, its rollup by the same difference, in one transaction that excludes a
    /// concurrent rollup step (SQLite: the write lock; PostgreSQL: a share lock on the watermark row), so the rollups
    /// keep equalling the calls. Returns false when the call has no record (yet).
    /// </summary>
    public static async Task<bool> CorrectChargeAsync(
        DatabaseWriter writer, string requestId, long chargedMicro, long overageMicro, string usageSource)
    {
        var found = false;
        await writer.WriteAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            var connection = db.Database.GetDbConnection();
            var postgres = db.Database.IsNpgsql();
            await using var tx = await connection.BeginTransactionAsync();
            var watermark = await ScalarAsync(connection, tx,
                $"SELECT position FROM history_watermarks WHERE name = '{WatermarkName}'" + (postgres ? " FOR SHARE" : ""), default);
            long id = 0, charged = 0, overage = 0;
            await using (var read = Command(connection, tx,
                             "SELECT id, charged_micro, overage_micro FROM call_records WHERE request_id = @r" + (postgres ? " FOR UPDATE" : "")))
            {
                Parameter(read, "@r", requestId);
                await using var reader = await read.ExecuteReaderAsync();
                if (!await reader.ReadAsync()) return;
                (id, charged, overage) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
                found = true;
            }
            await using (var update = Command(connection, tx,
                             "UPDATE call_records SET charged_micro = @c, overage_micro = @o, usage_source = @s WHERE request_id = @r"))
            {
                Parameter(update, "@c", chargedMicro);
                Parameter(update, "@o", overageMicro);
                Parameter(update, "@s", usageSource);
                Parameter(update, "@r", requestId);
                await update.ExecuteNonQueryAsync();
            }
            if (id <= watermark)
            {
                foreach (var level in Levels)
                {
                    await using var adjust = Command(connection, tx, $"""
                        UPDATE {level.Table} SET charged_micro = charged_micro + @dc, overage_micro = overage_micro + @do
                        WHERE (account_id, {level.Bucket}, {string.Join(", ", level.Columns)}) = (
                            SELECT account_id, started_at - (started_at % {level.Ticks}), {string.Join(", ", level.From)}
                            FROM call_records WHERE request_id = @r)
                        """);
                    Parameter(adjust, "@dc", checked(chargedMicro - charged));
                    Parameter(adjust, "@do", checked(overageMicro - overage));
                    Parameter(adjust, "@r", requestId);
                    await adjust.ExecuteNonQueryAsync();
                }
            }
            await tx.CommitAsync();
        });
        return found;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command;
    }

    private static void Parameter(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }
}
