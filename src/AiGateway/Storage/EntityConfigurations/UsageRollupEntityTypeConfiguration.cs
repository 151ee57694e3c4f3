using AiGateway.History;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class UsageRollupEntityTypeConfiguration : IEntityTypeConfiguration<UsageRollup>
{
    public void Configure(EntityTypeBuilder<UsageRollup> builder)
    {
        builder.ToTable("usage_rollups");
        // Account and hour first: a summary reads one account's hours in a range, in key order.
        builder.HasKey(r => new { r.AccountId, r.HourStart, r.KeyId, r.Model, r.Feature, r.Task, r.StatusCode });
        builder.Property(r => r.Model).HasMaxLength(200);
        builder.Property(r => r.Feature).HasMaxLength(100);
        builder.Property(r => r.Task).HasMaxLength(200);
    }
}

internal sealed class UsageDailyRollupEntityTypeConfiguration : IEntityTypeConfiguration<UsageDailyRollup>
{
    public void Configure(EntityTypeBuilder<UsageDailyRollup> builder)
    {
        builder.ToTable("usage_daily_rollups");
        builder.HasKey(r => new { r.AccountId, r.DayStart, r.KeyId, r.Model, r.Feature, r.Task, r.StatusCode });
        builder.Property(r => r.Model).HasMaxLength(200);
        builder.Property(r => r.Feature).HasMaxLength(100);
        builder.Property(r => r.Task).HasMaxLength(200);
    }
}

internal sealed class UsageDailyTotalEntityTypeConfiguration : IEntityTypeConfiguration<UsageDailyTotal>
{
    public void Configure(EntityTypeBuilder<UsageDailyTotal> builder)
    {
        builder.ToTable("usage_daily_totals");
        builder.HasKey(r => new { r.AccountId, r.DayStart, r.Model, r.StatusCode });
        builder.Property(r => r.Model).HasMaxLength(200);
    }
}

internal sealed class UsageDailyTaskEntityTypeConfiguration : IEntityTypeConfiguration<UsageDailyTask>
{
    public void Configure(EntityTypeBuilder<UsageDailyTask> builder)
    {
        builder.ToTable("usage_daily_tasks");
        builder.HasKey(r => new { r.AccountId, r.DayStart, r.Task, r.StatusCode });
        builder.Property(r => r.Task).HasMaxLength(200);
    }
}

internal sealed class UsageHalfHourTotalEntityTypeConfiguration : IEntityTypeConfiguration<UsageHalfHourTotal>
{
    public void Configure(EntityTypeBuilder<UsageHalfHourTotal> builder)
    {
        builder.ToTable("usage_halfhour_totals");
        // Keyed by (account, model, status) before the half hour: a day's row of daily totals drives one key range holding
        // exactly its half hours, in order (AccountQueries.HalfHourPartsSql).
        builder.HasKey(r => new { r.AccountId, r.Model, r.StatusCode, r.HalfHourStart });
        builder.Property(r => r.Model).HasMaxLength(200);
    }
}

internal sealed class HistoryWatermarkEntityTypeConfiguration : IEntityTypeConfiguration<HistoryWatermark>
{
    public void Configure(EntityTypeBuilder<HistoryWatermark> builder)
    {
        builder.ToTable("history_watermarks");
        builder.HasKey(w => w.Name);
        builder.Property(w => w.Name).HasMaxLength(100);
    }
}
