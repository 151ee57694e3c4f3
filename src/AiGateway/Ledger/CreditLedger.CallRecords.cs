using System.Text.Json;
using AiGateway.Storage;

namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    private const string InsertCallRecordSql = """
        INSERT INTO call_records (request_id, account_id, key_id, route, provider, model, priced_model, operation, stream,
            input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, reasoning_tokens, images, video_seconds,
            audio_uses, estimated_input_tokens, estimated_output_tokens, estimate_micro, charged_micro, overage_micro, status_code,
            usage_source, clamped, unlimited, attempt_count, attempts, error, feature, task, started_at, duration_ms, first_byte_ms,
            usage_clamped)
        VALUES (@request_id, @account_id, @key_id, @route, @provider, @model, @priced_model, @operation, @stream,
            @input_tokens, @cached_input_tokens, @cache_write_input_tokens, @output_tokens, @reasoning_tokens, @images, @video_seconds,
            @audio_uses, @estimated_input_tokens, @estimated_output_tokens, @estimate_micro, @charged_micro, @overage_micro, @status_code,
            @usage_source, @clamped, @unlimited, @attempt_count, @attempts, @error, @feature, @task, @started_at, @duration_ms, @first_byte_ms,
            @usage_clamped)
        """;

    /// <summary>
    /// Inserts call records in one write transaction with a reused prepared statement (the hot path's group commit:
    /// EF change tracking per record cost more than the ledger's own reserve and settle).
    /// </summary>
    public async Task InsertCallRecordsAsync(IReadOnlyList<CallRecord> records)
    {
        await using var s = await BeginAsync(CancellationToken.None);
        foreach (var r in records) await s.ExecuteAsync(InsertCallRecordSql, CallRecordParameters(s, r));
        await s.CommitAsync();
    }

    /// <summary>
    /// Replaces the stored record of a call (in place, in a transaction of its own; inserted when none is stored): the
    /// correction of a record stored with its charge, when how the call ended changed what it shows. Charges are never touched.
    /// </summary>
    public async Task CorrectCallRecordAsync(CallRecord record)
    {
        await using var s = await BeginAsync(CancellationToken.None);
        await ReplaceCallRecordAsync(s, record);
        await s.CommitAsync();
    }

    /// <summary>
    /// Stores the interrupted-call record an expiring hold carried, in the sweep's transaction, unless the call has a
    /// record already (the unique request id decides, on any number of instances). An unreadable record is skipped.
    /// </summary>
    private static async Task InsertInterruptedRecordAsync(LedgerSession s, string json)
    {
        CallRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(json, CallRecordJson.Default.CallRecord);
        }
        catch (JsonException)
        {
            return; // never block the expiry of a hold on its record
        }
        if (record is null) return;
        await s.ExecuteAsync(InsertCallRecordSql + " ON CONFLICT (request_id) DO NOTHING", CallRecordParameters(s, record));
    }

    /// <summary>
    /// Inserts a batch's call records in the session's transaction, each as <see cref="InsertCallRecordAsync"/> would
    /// (in order; an existing record gives way only when it is <c>interrupted</c>). SQLite: several records per INSERT
    /// statement (a run of 26 becomes 16 + 8 + 2 rows) — per statement SQLite opens a cursor on the table and each of
    /// its six indexes and reads and rewrites the AUTOINCREMENT counter, and the gateway looks up, binds and resets a
    /// statement: 12.4 → 10.4 µs of CPU per record (bench/Records; bench/README.md "a call record's insert"). A chunk
    /// runs in a savepoint: when it inserts fewer rows than it has (a request id stored already, or twice in the batch)
    /// it is rolled back and written record by record, so the rows, their ids and order are exactly the one-record path's.
    /// PostgreSQL: record by record (its batches use <see cref="AddCallRecordStatements"/>: one statement for all of them).
    /// </summary>
    private static async Task InsertBatchRecordsAsync(LedgerSession s, IReadOnlyList<CallRecord> records)
    {
        var start = 0;
        while (start < records.Count)
        {
            var rows = s.IsPostgres ? 1 : Math.Min(MaxRowsPerInsert, 1 << System.Numerics.BitOperations.Log2((uint)(records.Count - start)));
            if (rows == 1)
            {
                await InsertCallRecordAsync(s, records[start++]);
                continue;
            }
            var columns = CallRecordParameterNames.Length;
            var parameters = new (string Name, object? Value)[rows * columns];
            var names = MultiRowNames(rows);
            for (var i = 0; i < rows; i++)
                FillCallRecordParameters(s, records[start + i], names[i], parameters.AsSpan(i * columns, columns));
            await s.ExecuteAsync("SAVEPOINT call_records_chunk");
            if (await s.ExecuteAsync(MultiRowInsertSql(rows), parameters) != rows)
            {
                // A request id stored already or repeated: undo the chunk (its ids and AUTOINCREMENT counter too) and
                // write it record by record, so every row and id is what the one-record path gives.
                await s.ExecuteAsync("ROLLBACK TO call_records_chunk");
                await s.ExecuteAsync("RELEASE call_records_chunk");
                for (var i = start; i < start + rows; i++) await InsertCallRecordAsync(s, records[i]);
            }
            else
            {
                await s.ExecuteAsync("RELEASE call_records_chunk");
            }
            start += rows;
        }
    }

    // The largest multi-row INSERT: 32 × 35 parameters (SQLite allows 32,766), prepared once per connection and size.
    private const int MaxRowsPerInsert = 32;

    // Per power-of-two size (index log2(rows)): the INSERT of that many records and the parameter names of each row.
    private static readonly string?[] MultiRowSqls = new string?[6];
    private static readonly string[][]?[] MultiRowParameterNames = new string[][]?[6];

    private static string[][] MultiRowNames(int rows) =>
        MultiRowParameterNames[System.Numerics.BitOperations.Log2((uint)rows)] ??=
            [.. Enumerable.Range(0, rows).Select(row => CallRecordParameterNames.Select(name => $"{name}_{row}").ToArray())];

    private static string MultiRowInsertSql(int rows) =>
        MultiRowSqls[System.Numerics.BitOperations.Log2((uint)rows)] ??= string.Concat(
            InsertCallRecordSql.AsSpan(0, InsertCallRecordSql.IndexOf("VALUES", StringComparison.Ordinal)),
            "VALUES ",
            string.Join(",\n    ", MultiRowNames(rows).Select(names => $"({string.Join(", ", names)})")),
            " ON CONFLICT (request_id) DO NOTHING");

    /// <summary>
    /// Inserts one call record in the session's transaction (the lease batches carry records too). An existing record
    /// gives way only when it is <c>interrupted</c>: the sweep resolved the call's admission marker while this instance
    /// could not renew it (e.g. it lost the database), and the call did end; any other existing record is kept.
    /// </summary>
    private static async Task InsertCallRecordAsync(LedgerSession s, CallRecord r)
    {
        var parameters = CallRecordParameters(s, r);
        if (await s.ExecuteAsync(InsertCallRecordSql + " ON CONFLICT (request_id) DO NOTHING", parameters) == 1) return;
        if (await s.ScalarAsync("SELECT 1 FROM call_records WHERE request_id = @r AND usage_source = @interrupted",
                ("@r", r.RequestId), ("@interrupted", CallRecord.InterruptedUsageSource)) is null) return;
        // The interrupted record may be rolled up already: out of the rollups with it, or the call would count twice
        // (the new row has a new id, above the watermark, and is rolled up in its turn).
        await TakeOutOfRollupsAsync(s, r.RequestId);
        await s.ExecuteAsync("DELETE FROM call_records WHERE request_id = @r", ("@r", r.RequestId));
        await s.ExecuteAsync(InsertCallRecordSql, parameters);
    }

    private const string ReplaceCallRecordSql = """
        UPDATE call_records SET account_id = @account_id, key_id = @key_id, route = @route, provider = @provider, model = @model,
            priced_model = @priced_model, operation = @operation, stream = @stream, input_tokens = @input_tokens,
            cached_input_tokens = @cached_input_tokens, cache_write_input_tokens = @cache_write_input_tokens,
            output_tokens = @output_tokens, reasoning_tokens = @reasoning_tokens, images = @images, video_seconds = @video_seconds,
            audio_uses = @audio_uses, estimated_input_tokens = @estimated_input_tokens, estimated_output_tokens = @estimated_output_tokens,
            estimate_micro = @estimate_micro, charged_micro = @charged_micro, overage_micro = @overage_micro, status_code = @status_code,
            usage_source = @usage_source, clamped = @clamped, unlimited = @unlimited, attempt_count = @attempt_count,
            attempts = @attempts, error = @error, feature = @feature, task = @task, started_at = @started_at,
            duration_ms = @duration_ms, first_byte_ms = @first_byte_ms, usage_clamped = @usage_clamped
        WHERE request_id = @request_id
        """;

    /// <summary>
    /// Replaces the stored record of a call in the session's transaction (in place: the same row, so one record per
    /// call); inserts it when none is stored. Charges are never touched: a correction changes what the record says.
    /// </summary>
    private static async Task ReplaceCallRecordAsync(LedgerSession s, CallRecord r)
    {
        // A call already rolled up (its status, say, changed after it was stored): its rollups follow the record — taken
        // out as it was, put back as it is — or summaries would keep what the record said before.
        var rolled = await TakeOutOfRollupsAsync(s, r.RequestId);
        if (await s.ExecuteAsync(ReplaceCallRecordSql, CallRecordParameters(s, r)) == 0)
        {
            await InsertCallRecordAsync(s, r);
            return;
        }
        if (rolled) foreach (var sql in History.UsageRollupStep.FoldCallSqls) await s.ExecuteAsync(sql, ("@r", r.RequestId));
    }

    /// <summary>
    /// When the call's record is rolled up (its id at or below the rollup watermark), subtracts it from every rollup
    /// level, in the session's transaction; returns whether it did. No rollup step can move the watermark until this
    /// transaction ends: SQLite's write lock, PostgreSQL's share lock on the watermark row (see <see cref="LockRollupWatermarkAsync"/>).
    /// </summary>
    private static async Task<bool> TakeOutOfRollupsAsync(LedgerSession s, string requestId)
    {
        var watermark = await LockRollupWatermarkAsync(s);
        object?[]? values = null;
        await using (var reader = await s.ReaderAsync(
                         $"SELECT id, {string.Join(", ", History.UsageRollupStep.CallColumns)} FROM call_records WHERE request_id = @r", ("@r", requestId)))
        {
            if (await reader.ReadAsync() && reader.GetInt64(0) <= watermark) values = RollupValues(reader, 1);
        }
        if (values is null) return false;
        await UnfoldAsync(s, values);
        return true;
    }

    /// <summary>
    /// The rollup watermark, share-locked on PostgreSQL until the transaction ends (the row made sure to exist first, so a
    /// first rollup step cannot start past a call meanwhile); SQLite's write lock already excludes a rollup step.
    /// </summary>
    private static async Task<long> LockRollupWatermarkAsync(LedgerSession s)
    {
        const string Name = History.UsageRollupStep.WatermarkName;
        if (s.IsPostgres)
            await s.ExecuteAsync($"INSERT INTO history_watermarks (name, position, updated_at) VALUES ('{Name}', 0, 0) ON CONFLICT (name) DO NOTHING");
        return await s.ScalarAsync($"SELECT position FROM history_watermarks WHERE name = '{Name}'" + (s.IsPostgres ? " FOR SHARE" : "")) ?? 0;
    }

    /// <summary>A record's <see cref="History.UsageRollupStep.CallColumns"/> as read from <paramref name="reader"/> from column <paramref name="first"/> on.</summary>
    private static object?[] RollupValues(System.Data.Common.DbDataReader reader, int first) =>
        Enumerable.Range(first, History.UsageRollupStep.CallColumns.Length).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray();

    /// <summary>Takes one call, by its record's values, out of every rollup level.</summary>
    private static async Task UnfoldAsync(LedgerSession s, object?[] values)
    {
        var parameters = values.Select((value, j) => ($"@c{j}", value)).ToArray();
        foreach (var sql in History.UsageRollupStep.UnfoldCallSqls) await s.ExecuteAsync(sql, parameters);
    }

    // The parameter names of a record's columns, in the order of InsertCallRecordSql's VALUES.
    private static readonly string[] CallRecordParameterNames =
    [
        "@request_id", "@account_id", "@key_id", "@route", "@provider", "@model", "@priced_model", "@operation", "@stream",
        "@input_tokens", "@cached_input_tokens", "@cache_write_input_tokens", "@output_tokens", "@reasoning_tokens", "@images",
        "@video_seconds", "@audio_uses", "@estimated_input_tokens", "@estimated_output_tokens", "@estimate_micro", "@charged_micro",
        "@overage_micro", "@status_code", "@usage_source", "@clamped", "@unlimited", "@attempt_count", "@attempts", "@error",
        "@feature", "@task", "@started_at", "@duration_ms", "@first_byte_ms", "@usage_clamped",
    ];

    /// <summary>
    /// PostgreSQL: a settlement batch's records in one statement, each column one array parameter (in
    /// <see cref="CallRecordParameterNames"/>' order), inserted in the batch's order (ids as the one-record statements
    /// give them) and each skipped when its request id is stored already or earlier in the batch — what a statement per
    /// record did, without its per-statement cost: the server bound and executed 35 parameters per record
    /// (≈ 23 µs of its time per record in <c>bench/Metering/pg-statements.sh</c>) and the gateway parsed the statement's
    /// text and converted its parameters per record.
    /// </summary>
    private static readonly string InsertCallRecordsUnnestSql = BuildInsertCallRecordsUnnestSql();

    private static string BuildInsertCallRecordsUnnestSql()
    {
        var columns = CallRecordParameterNames.Select(name => name[1..]).ToArray();
        return $"INSERT INTO call_records ({string.Join(", ", columns)})\n" +
               $"SELECT {string.Join(", ", columns.Select(c => "t." + c))}\n" +
               $"FROM unnest({string.Join(", ", CallRecordParameterNames)}) WITH ORDINALITY AS t({string.Join(", ", columns)}, n)\n" +
               "ORDER BY t.n ON CONFLICT (request_id) DO NOTHING";
    }

    /// <summary>The records' columns as typed arrays (PostgreSQL types them by their element type), named as <see cref="CallRecordParameterNames"/>.</summary>
    private static (string Name, object? Value)[] CallRecordColumns(IReadOnlyList<CallRecord> records)
    {
        var n = records.Count;
        T[] Column<T>(Func<CallRecord, T> value)
        {
            var column = new T[n];
            for (var i = 0; i < n; i++) column[i] = value(records[i]);
            return column;
        }
        object?[] values =
        [
            Column(r => r.RequestId), Column(r => r.AccountId), Column(r => r.KeyId), Column(r => r.Route), Column(r => r.Provider),
            Column(r => r.Model), Column(r => r.PricedModel), Column(r => r.Operation), Column(r => r.Stream),
            Column(r => r.InputTokens), Column(r => r.CachedInputTokens), Column(r => r.CacheWriteInputTokens), Column(r => r.OutputTokens),
            Column(r => r.ReasoningTokens), Column(r => r.Images), Column(r => r.VideoSeconds), Column(r => r.AudioUses),
            Column(r => r.EstimatedInputTokens), Column(r => r.EstimatedOutputTokens), Column(r => r.EstimateMicro), Column(r => r.ChargedMicro),
            Column(r => r.OverageMicro), Column(r => r.StatusCode), Column(r => r.UsageSource), Column(r => r.Clamped), Column(r => r.Unlimited),
            Column(r => r.AttemptCount), Column(r => r.Attempts), Column(r => r.Error), Column(r => r.Feature), Column(r => r.Task),
            Column(r => r.StartedAt.UtcTicks), Column(r => r.DurationMs), Column(r => r.FirstByteMs), Column(r => r.UsageClamped),
        ];
        var parameters = new (string Name, object? Value)[values.Length];
        for (var i = 0; i < values.Length; i++) parameters[i] = (CallRecordParameterNames[i], values[i]);
        return parameters;
    }

    private static (string Name, object? Value)[] CallRecordParameters(LedgerSession s, CallRecord r)
    {
        var parameters = new (string Name, object? Value)[CallRecordParameterNames.Length];
        FillCallRecordParameters(s, r, CallRecordParameterNames, parameters);
        return parameters;
    }

    /// <summary>A record's column values, named <paramref name="names"/> (in <see cref="CallRecordParameterNames"/>' order), into <paramref name="into"/>.</summary>
    private static void FillCallRecordParameters(LedgerSession s, CallRecord r, string[] names, Span<(string Name, object? Value)> into)
    {
        ReadOnlySpan<object?> values =
        [
            r.RequestId, s.Id(r.AccountId), s.Id(r.KeyId), r.Route, r.Provider, r.Model, r.PricedModel, r.Operation, r.Stream,
            r.InputTokens, r.CachedInputTokens, r.CacheWriteInputTokens, r.OutputTokens, r.ReasoningTokens, r.Images,
            r.VideoSeconds, r.AudioUses, r.EstimatedInputTokens, r.EstimatedOutputTokens, r.EstimateMicro, r.ChargedMicro,
            r.OverageMicro, r.StatusCode, r.UsageSource, r.Clamped, r.Unlimited, r.AttemptCount, r.Attempts, r.Error,
            r.Feature, r.Task, r.StartedAt.UtcTicks, r.DurationMs, r.FirstByteMs, r.UsageClamped,
        ];
        for (var i = 0; i < values.Length; i++) into[i] = (names[i], values[i]);
    }
}
