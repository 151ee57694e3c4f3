using System.Data.Common;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>
/// Deletes the transient part of the ledger once it no longer matters (older than
/// <see cref="HistoryOptions.ResolvedHoldRetention"/>): the <c>hold</c>, <c>release</c> and hold-<c>expire</c> movements of
/// holds that were settled or released (a hold reserves and gives back; the settle movement, the charge and its allocations are what
/// explain a balance, and they are kept), and the settled or released holds themselves. A hold is only worth keeping
/// after it resolved for what it still answers: a task's spent credits (holds with a task), an Idempotency-Key's
/// fingerprint (one-step charges with a fingerprint) and a late settle (expired holds) — those stay, with their
/// movements. A repeat of a deleted request id cannot charge twice: its charge row keeps the request id unique.
/// </summary>
/// <remarks>
/// One short transaction per batch of <see cref="HistoryOptions.RetentionDeleteBatch"/> rows of one account, in the
/// database's write turn; interrupted anywhere, the next run continues (every delete is final on its own).
/// </remarks>
public sealed class HoldCompaction(IDbContextFactory<LedgerDbContext> dbFactory, DatabaseWriter writer, IOptions<HistoryOptions> options, TimeProvider time)
{
    /// <summary>What one run deleted.</summary>
    public sealed record Result(long Movements, long Holds);

    /// <summary>
    /// The next batch of an account's movements of one type about a hold (<c>hold</c>, <c>release</c>, and the
    /// <c>expire</c> of a hold that was settled late; never a lot's expiry, which has no hold) older than the cutoff whose
    /// hold is neither active nor expired (settled, released, or deleted already), after id <c>@after</c>, in id order
    /// over <c>(account_id, type, id)</c>.
    /// </summary>
    internal const string MovementsSql = """
        SELECT e.id FROM ledger_entries e
        WHERE e.account_id = @a AND e.type = @type AND e.id > @after AND e.at < @cutoff AND e.hold_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM credit_holds h WHERE h.id = e.hold_id AND h.status IN ('active', 'expired'))
        ORDER BY e.id LIMIT @n
        """;

    /// <summary>
    /// The next batch of an account's settled or released holds resolved before the cutoff that answer nothing any more
    /// (no task, no fingerprint), over <c>(account_id, task)</c>; unordered, as each batch is deleted before the next.
    /// </summary>
    internal const string HoldsSql = """
        SELECT id FROM credit_holds
        WHERE account_id = @a AND task IS NULL AND status IN ('settled', 'released') AND fingerprint IS NULL AND resolved_at < @cutoff
        LIMIT @n
        """;

    /// <summary>Deletes, account by account, the movements first (so a movement never outlives the check on its hold), then the holds.</summary>
    public async Task<Result> RunAsync(CancellationToken ct)
    {
        var keep = options.Value.ResolvedHoldRetention;
        if (keep <= TimeSpan.Zero) return new Result(0, 0);
        var cutoff = time.GetUtcNow().Subtract(keep).UtcTicks;
        List<Guid> accounts;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            accounts = await db.Accounts.AsNoTracking().OrderBy(a => a.Id).Select(a => a.Id).ToListAsync(ct);
        }
        long movements = 0, holds = 0;
        foreach (var account in accounts)
        {
            foreach (var type in new[] { LedgerEntryTypes.Hold, LedgerEntryTypes.Release, LedgerEntryTypes.Expire })
            {
                long after = 0;
                while (true)
                {
                    var (deleted, last) = await DeleteBatchAsync("ledger_entries", MovementsSql, account, type, after, cutoff, ct);
                    movements += deleted;
                    if (last is null) break;
                    after = last.Value;
                }
            }
            while (true)
            {
                var (deleted, last) = await DeleteBatchAsync("credit_holds", HoldsSql, account, null, 0, cutoff, ct);
                holds += deleted;
                if (last is null) break;
            }
        }
        return new Result(movements, holds);
    }

    /// <summary>Selects one batch and deletes it in one transaction; returns the count and the last id when the batch was full (more may follow).</summary>
    private async Task<(int Deleted, long? Last)> DeleteBatchAsync(string table, string selectSql, Guid account, string? type, long after, long cutoff, CancellationToken ct)
    {
        var batch = options.Value.RetentionDeleteBatch;
        (int, long?) result = (0, null);
        await writer.WriteAsync(async db =>
        {
            await db.Database.OpenConnectionAsync(ct);
            var connection = db.Database.GetDbConnection();
            await using var tx = await connection.BeginTransactionAsync(ct);
            var ids = new List<long>();
            await using (var select = Command(db, connection, tx, selectSql, account, type, after, cutoff, batch))
            await using (var reader = await select.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct)) ids.Add(reader.GetInt64(0));
            }
            if (ids.Count > 0)
            {
                await using var delete = connection.CreateCommand();
                delete.Transaction = tx;
                // The ids were just read from the database as integers: no input reaches the statement's text.
                delete.CommandText = $"DELETE FROM {table} WHERE id IN ({string.Join(",", ids)})";
                await delete.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
            result = (ids.Count, ids.Count == batch ? ids.Max() : null);
        }, ct);
        return result;
    }

    /// <summary>One of the batch selections with its parameters (also for the query-plan tests).</summary>
    internal static DbCommand Command(
        LedgerDbContext db, DbConnection connection, DbTransaction? tx, string sql, Guid account, string? type, long after, long cutoff, int batch)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        var parameters = new List<(string, object)>
        {
            ("@a", SqliteGuid.Parameter(db.Database.IsNpgsql(), account)), ("@cutoff", cutoff), ("@n", batch),
        };
        if (type is not null) parameters.AddRange([("@type", type), ("@after", after)]);
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }
        return command;
    }
}
