using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Tests.Ledger;

namespace AiGateway.Tests.Storage;

/// <summary>
/// The background checkpointer (<c>SqliteCheckpointer</c>): ledger commits no longer copy the WAL into the database
/// themselves, so something else must, or the WAL only grows until SQLite's safety net makes a commit do it.
/// </summary>
public sealed class SqliteCheckpointerTests(SqliteLedgerFixture db) : IClassFixture<SqliteLedgerFixture>
{
    [Fact]
    public async Task LedgerCommits_StartBackgroundCheckpoints_ThatCopyTheWal()
    {
        var ledger = db.CreateLedger(TimeProvider.System);
        var checkpointer = ledger.Writer.Checkpointer!;
        var checkpointed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        checkpointer.Checkpointed += () => checkpointed.TrySetResult();
        var account = await db.CreateAccountAsync();

        // Sequential ledger transactions: one commit each, far fewer pages than SQLite's safety net.
        for (var i = 0; i < 100 && !checkpointed.Task.IsCompleted; i++)
            await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1), null, null, "test", $"cp-{account}-{i}");

        // Waits for the event, not for a time: the bound only turns a missing checkpointer into a failure.
        var ran = await Task.WhenAny(checkpointed.Task, Task.Delay(TimeSpan.FromSeconds(60))) == checkpointed.Task;
        var (checkpoints, frames) = checkpointer.Stats;
        Assert.True(ran && checkpoints > 0 && frames > 0,
            $"after up to 100 ledger commits the background checkpointer ran {checkpoints} checkpoints copying {frames} WAL frames");

    }
}
