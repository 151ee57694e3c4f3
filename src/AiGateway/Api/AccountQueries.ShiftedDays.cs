using System.Data.Common;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace AiGateway.Api;

// Summaries by local day at a time-zone offset, read from the totals per model and status kept per UTC day and half hour.
internal static partial class AccountQueries
{
    private const long Day = TimeSpan.TicksPerDay;
    private const long HalfHour = TimeSpan.TicksPerHour / 2;

    /// <summary>
    /// Adds the calls of the whole hours <c>[firstHour, lastHour)</c> by local day at <paramref name="offset"/> (ticks,
    /// not a whole number of days). A local midnight falls inside every UTC day, at <c>b</c>. Each whole UTC day's daily
    /// totals go to the local day that holds the larger part of it; the half hours of the smaller part are read from the
    /// half-hourly totals, taken from that day and added to their own; so at most 24 half hours a day are read (a few
    /// rows each: one per model and status), and for +01:00 two. Every offset of whole or half hours (+05:30, −09:30)
    /// falls on half-hour edges; at any other (+05:45) the half hour around <c>b</c> straddles two local days: its
    /// totals are taken away and its calls (up to the watermark; the caller adds those above it) are summed by local
    /// day in the database. The hours at the range's ends (at most 23 each) are read half hour by half hour, their
    /// straddling half hour by its calls too.
    /// </summary>
    private static async Task AddShiftedDaysAsync(
        LedgerDbContext db, Guid account, SummaryFold summary, (long FirstHour, long FirstDay, long LastDay, long LastHour) range, long offset,
        long watermark, CancellationToken ct)
    {
        var (firstHour, firstDay, lastDay, lastHour) = range;
        var midnight = Day - ((offset % Day) + Day) % Day;          // b − d: the local midnight's place in each UTC day
        var straddle = midnight % HalfHour == 0 ? (long?)null : Floor(midnight, HalfHour);
        var firstPartIsSmaller = midnight <= Day / 2;
        // The smaller part's half hours, with the straddling one (which is taken away in any case).
        var (lo, hi) = firstPartIsSmaller ? (0L, Ceil(midnight, HalfHour)) : (Floor(midnight, HalfHour), Day);
        long LargerPartDay(long utcDay) => (utcDay * Day + Day / 2 + offset) / Day;

        foreach (var (a, b) in new[] { (firstHour, firstDay), (lastDay, lastHour) }.Where(r => r.Item1 < r.Item2))
        {
            foreach (var part in await HalfHourPartsAsync(db, account, Floor(a, Day), Ceil(b, Day), 0, Day, a, b, offset, ct))
            {
                if (!part.Straddles) summary.Add(part.Slice);
            }
        }
        if (firstDay < lastDay)
        {
            foreach (var slice in await DailyTotalsQuery(db, account, firstDay, lastDay, "day").ToListAsync(ct))
            {
                summary.Add(slice with { Day = LargerPartDay(slice.Day) });
            }
            foreach (var part in await HalfHourPartsAsync(db, account, firstDay, lastDay, lo, hi, firstDay, lastDay, offset, ct))
            {
                summary.Add(part.Slice with { Day = LargerPartDay(part.UtcDay) }, sign: -1);
                if (!part.Straddles) summary.Add(part.Slice);
            }
        }
        if (straddle is { } s)
        {
            foreach (var slice in await StraddleCallsAsync(db, account, Floor(firstHour, Day), lastHour, s, firstHour, lastHour, offset, watermark, ct))
            {
                summary.Add(slice);
            }
        }
    }

    /// <summary>Half-hourly totals summed by UTC day and local day (of the half hour's start), flagged when the half hour straddles a local midnight.</summary>
    private sealed record HalfHourPart(long UtcDay, bool Straddles, RollupSlice Slice);

    /// <summary>
    /// The half-hourly totals of the half hours <c>[d + lo, d + hi)</c> of each UTC day <c>d</c> in <c>[firstDay, lastDay)</c>,
    /// within <c>[from, to)</c>: one primary-key range per day (a day list joined to the totals), so the half hours
    /// between are never read (see <see cref="PerDaySql"/>).
    /// </summary>
    internal static string HalfHourPartsSql(bool postgres) => PerDaySql(postgres, """
        SELECT r.half_hour_start / @day, (r.half_hour_start + @offset) / @day,
            CASE WHEN (r.half_hour_start + @offset) / @day = (r.half_hour_start + @offset + @unit - 1) / @day THEN 0 ELSE 1 END,
            r.model, r.status_code, CAST(SUM(r.calls) AS BIGINT), CAST(SUM(r.input_tokens) AS BIGINT), CAST(SUM(r.cached_input_tokens) AS BIGINT),
            CAST(SUM(r.output_tokens) AS BIGINT), CAST(SUM(r.reasoning_tokens) AS BIGINT), CAST(SUM(r.charged_micro) AS BIGINT)
        FROM {0}usage_halfhour_totals r
        WHERE r.account_id = @a AND r.half_hour_start >= days.d + @lo AND r.half_hour_start < days.d + @hi
            AND r.half_hour_start{1} >= @from AND r.half_hour_start{1} < @to
        GROUP BY 1, 2, 3, 4, 5
        """);

    /// <summary>
    /// The calls up to the watermark in the straddling half hour <c>[d + start, d + start + 30 min)</c> of each UTC day
    /// in <c>[firstDay, lastDay)</c>, within <c>[from, to)</c>, summed by local day, model and status in the database:
    /// one (account_id, started_at) range per day.
    /// </summary>
    internal static string StraddleCallsSql(bool postgres) => PerDaySql(postgres, """
        SELECT (c.started_at + @offset) / @day, c.model, c.status_code, CAST(COUNT(*) AS BIGINT), CAST(SUM(c.input_tokens) AS BIGINT),
            CAST(SUM(c.cached_input_tokens) AS BIGINT), CAST(SUM(c.output_tokens) AS BIGINT), CAST(SUM(c.reasoning_tokens) AS BIGINT),
            CAST(SUM(c.charged_micro) AS BIGINT)
        FROM {0}call_records c
        WHERE c.account_id = @a AND c.started_at >= days.d + @lo AND c.started_at < days.d + @hi
            AND c.started_at{1} >= @from AND c.started_at{1} < @to AND c.id <= @watermark
        GROUP BY 1, 2, 3
        """);

    /// <summary>
    /// Runs <paramref name="perDay"/> once per UTC day of a day list, the list driving the index probes. SQLite:
    /// <c>CROSS JOIN</c> fixes the day list as the outer loop, and <c>+ 0</c> keeps the range's overall bounds out of
    /// the probe; PostgreSQL: a <c>LATERAL</c> subquery with its own grouping, which the planner cannot turn inside
    /// out. Without them both databases read the account's whole range once per day (SQLite: 32 s for 6 months of a
    /// heavy account at +12:00).
    /// </summary>
    private static string PerDaySql(bool postgres, string perDay)
    {
        const string Days = """
            WITH RECURSIVE days(d) AS (
                SELECT CAST(@first_day AS BIGINT) UNION ALL SELECT d + @day FROM days WHERE d + @day < @last_day)

            """;
        return postgres
            ? Days + "SELECT x.* FROM days CROSS JOIN LATERAL (\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, perDay, "", "") + "\n) x"
            : Days + string.Format(System.Globalization.CultureInfo.InvariantCulture, perDay, "days CROSS JOIN ", " + 0");
    }

    /// <summary>The parameters of <see cref="HalfHourPartsSql"/> and <see cref="StraddleCallsSql"/>, for the endpoints and the plan tests.</summary>
    internal static DbCommand ShiftedDaysCommand(
        LedgerDbContext db, string sql, Guid account, long firstDay, long lastDay, long lo, long hi, long from, long to, long offset, long watermark)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        var postgres = db.Database.IsNpgsql();
        var parameters = new List<(string, object)>
        {
            ("@a", SqliteGuid.Parameter(postgres, account)), ("@first_day", firstDay), ("@last_day", lastDay),
            ("@day", Day), ("@lo", lo), ("@hi", hi), ("@from", from), ("@to", to), ("@offset", offset),
        };
        if (sql.Contains("@unit", StringComparison.Ordinal)) parameters.Add(("@unit", HalfHour));
        if (sql.Contains("@watermark", StringComparison.Ordinal)) parameters.Add(("@watermark", watermark));
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }
        return command;
    }

    private static async Task<List<HalfHourPart>> HalfHourPartsAsync(
        LedgerDbContext db, Guid account, long firstDay, long lastDay, long lo, long hi, long from, long to, long offset, CancellationToken ct)
    {
        var parts = new List<HalfHourPart>();
        await using var command = ShiftedDaysCommand(db, HalfHourPartsSql(db.Database.IsNpgsql()), account, firstDay, lastDay, lo, hi, from, to, offset, 0);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            parts.Add(new HalfHourPart(reader.GetInt64(0), reader.GetInt64(2) != 0, new RollupSlice(reader.GetInt64(1), reader.GetString(3), Guid.Empty,
                reader.GetInt32(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10))));
        }
        return parts;
    }

    private static async Task<List<RollupSlice>> StraddleCallsAsync(
        LedgerDbContext db, Guid account, long firstDay, long lastDay, long start, long from, long to, long offset, long watermark, CancellationToken ct)
    {
        var slices = new List<RollupSlice>();
        await using var command = ShiftedDaysCommand(db, StraddleCallsSql(db.Database.IsNpgsql()), account, firstDay, lastDay, start, start + HalfHour, from, to, offset, watermark);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            slices.Add(new RollupSlice(reader.GetInt64(0), reader.GetString(1), Guid.Empty, reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8)));
        }
        return slices;
    }
}
