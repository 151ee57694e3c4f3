using AiGateway.Accounts;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AiGateway.Storage;

/// <summary>The one EF Core model of the gateway: accounts, keys, credit lots, holds, charges and call records.</summary>
public class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<GatewayKey> GatewayKeys => Set<GatewayKey>();

    /// <summary>Granted credit lots.</summary>
    public DbSet<CreditLot> CreditLots => Set<CreditLot>();

    /// <summary>Reservations for in-flight requests.</summary>
    public DbSet<CreditHold> CreditHolds => Set<CreditHold>();

    /// <summary>The interrupted-call records of active holds.</summary>
    public DbSet<CreditHoldRecord> CreditHoldRecords => Set<CreditHoldRecord>();

    /// <summary>Charges, one per charged request.</summary>
    public DbSet<CreditCharge> CreditCharges => Set<CreditCharge>();

    /// <summary>Which lots (or overage) paid for each charge.</summary>
    public DbSet<ChargeAllocation> ChargeAllocations => Set<ChargeAllocation>();

    /// <summary>The activity ledger of every credit movement.</summary>
    public DbSet<LedgerEntry> LedgerEntries => Set<LedgerEntry>();

    /// <summary>Per-account held and overage totals (and the per-account lock row).</summary>
    public DbSet<LedgerAccountState> LedgerAccountStates => Set<LedgerAccountState>();

    /// <summary>Blocks of credits leased by gateway instances.</summary>
    public DbSet<CreditLease> CreditLeases => Set<CreditLease>();

    /// <summary>Calls admitted against credit leases whose records are not stored yet (resolved as interrupted after a crash).</summary>
    public DbSet<LeaseAdmission> LeaseAdmissions => Set<LeaseAdmission>();

    /// <summary>Credit ceilings of agent tasks.</summary>
    public DbSet<TaskBudget> TaskBudgets => Set<TaskBudget>();

    /// <summary>Asynchronous video jobs whose holds wait for a status poll.</summary>
    public DbSet<Metering.VideoJob> VideoJobs => Set<Metering.VideoJob>();

    /// <summary>One record per metered client request.</summary>
    public DbSet<CallRecord> CallRecords => Set<CallRecord>();

    /// <summary>Hourly sums of each account's calls, read by usage summaries (maintained by <c>History.UsageRollupStep</c>).</summary>
    public DbSet<History.UsageRollup> UsageRollups => Set<History.UsageRollup>();

    /// <summary>Daily sums of each account's calls (the same rollups per UTC day), read for the whole days of a summary.</summary>
    public DbSet<History.UsageDailyRollup> UsageDailyRollups => Set<History.UsageDailyRollup>();

    /// <summary>Daily sums of each account's calls per model and status only, read by summaries by day and by model.</summary>
    public DbSet<History.UsageDailyTotal> UsageDailyTotals => Set<History.UsageDailyTotal>();

    /// <summary>Daily sums of each account's calls per task and status only, read by summaries by task.</summary>
    public DbSet<History.UsageDailyTask> UsageDailyTasks => Set<History.UsageDailyTask>();

    /// <summary>Half-hourly sums of each account's calls per model and status only, read by summaries by day at a time-zone offset.</summary>
    public DbSet<History.UsageHalfHourTotal> UsageHalfHourTotals => Set<History.UsageHalfHourTotal>();

    /// <summary>Durable positions of the background history steps.</summary>
    public DbSet<History.HistoryWatermark> HistoryWatermarks => Set<History.HistoryWatermark>();

    /// <summary>Per-account notification settings and episode state.</summary>
    public DbSet<Notifications.NotificationAccount> NotificationAccounts => Set<Notifications.NotificationAccount>();

    /// <summary>The notification outbox: events written with the ledger change that caused them.</summary>
    public DbSet<Notifications.NotificationEvent> NotificationEvents => Set<Notifications.NotificationEvent>();

    /// <summary>Deliveries of outbox events to the configured webhook endpoints.</summary>
    public DbSet<Notifications.NotificationDelivery> NotificationDeliveries => Set<Notifications.NotificationDelivery>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(LedgerDbContext).Assembly);
        // One naming scheme for every column (hand-written ledger SQL uses it): snake_case.
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            property.SetColumnName(SnakeCase(property.GetColumnName()));
        }
    }

    private static string SnakeCase(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1])))) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Timestamps are stored as UTC ticks so SQLite can compare and order them like PostgreSQL does.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
        if (Database.IsSqlite())
        {
            // Guids (and Guid?) are 16-byte BLOBs on SQLite (SqliteGuid: one byte order for EF, raw SQL and migration
            // 0015); the columns keep their declared TEXT type, which the migration did not rebuild. PostgreSQL keeps uuid.
            configurationBuilder.Properties<Guid>().HaveConversion<SqliteGuid.BlobConverter>().HaveColumnType("TEXT");
            configurationBuilder.DefaultTypeMapping<Guid>().HasConversion<SqliteGuid.BlobConverter>();
        }
    }

    /// <summary>Stores a <see cref="DateTimeOffset"/> as its UTC ticks.</summary>
    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
}
