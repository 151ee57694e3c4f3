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

    private static (string Name, object? Value)[] CallRecordParameters(LedgerSession s, CallRecord r) =>
        [
            ("@request_id", r.RequestId), ("@account_id", s.Id(r.AccountId)), ("@key_id", s.Id(r.KeyId)),
            ("@route", r.Route), ("@provider", r.Provider), ("@model", r.Model), ("@priced_model", r.PricedModel),
            ("@operation", r.Operation), ("@stream", r.Stream), ("@input_tokens", r.InputTokens),
            ("@cached_input_tokens", r.CachedInputTokens), ("@cache_write_input_tokens", r.CacheWriteInputTokens),
            ("@output_tokens", r.OutputTokens), ("@reasoning_tokens", r.ReasoningTokens), ("@images", r.Images),
            ("@video_seconds", r.VideoSeconds), ("@audio_uses", r.AudioUses), ("@estimated_input_tokens", r.EstimatedInputTokens),
            ("@estimated_output_tokens", r.EstimatedOutputTokens), ("@estimate_micro", r.EstimateMicro),
            ("@charged_micro", r.ChargedMicro), ("@overage_micro", r.OverageMicro), ("@status_code", r.StatusCode),
            ("@usage_source", r.UsageSource), ("@clamped", r.Clamped), ("@unlimited", r.Unlimited),
            ("@attempt_count", r.AttemptCount), ("@attempts", r.Attempts), ("@error", r.Error), ("@feature", r.Feature),
            ("@task", r.Task), ("@started_at", r.StartedAt.UtcTicks), ("@duration_ms", r.DurationMs), ("@first_byte_ms", r.FirstByteMs),
            ("@usage_clamped", r.UsageClamped),
        ];
}
