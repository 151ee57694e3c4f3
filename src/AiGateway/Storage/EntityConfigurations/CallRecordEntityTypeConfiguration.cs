using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class CallRecordEntityTypeConfiguration : IEntityTypeConfiguration<CallRecord>
{
    public void Configure(EntityTypeBuilder<CallRecord> builder)
    {
        builder.ToTable("call_records");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.RequestId).HasMaxLength(64);
        builder.HasIndex(c => c.RequestId).IsUnique();
        builder.HasIndex(c => new { c.AccountId, c.StartedAt });
        // Usage pages and export chunks walk one account's calls in id order (newest first, or after a cursor);
        // filtered pages by feature or task walk only that feature's or task's calls. Those two hold only tagged calls
        // (a page asks for one feature or task, never for untagged calls; both databases use a partial index for
        // "feature = @f"): an untagged call costs no entry there (~55 B per call and index on SQLite).
        builder.HasIndex(c => new { c.AccountId, c.Id });
        builder.HasIndex(c => new { c.AccountId, c.Feature, c.Id }).HasFilter("feature IS NOT NULL");
        builder.HasIndex(c => new { c.AccountId, c.Task, c.Id }).HasFilter("task IS NOT NULL");
        // The all-accounts export from a start time reads (started_at, id) in order.
        builder.HasIndex(c => new { c.StartedAt, c.Id });
        builder.Property(c => c.Route).HasMaxLength(100);
        builder.Property(c => c.Provider).HasMaxLength(100);
        builder.Property(c => c.Model).HasMaxLength(200);
        builder.Property(c => c.PricedModel).HasMaxLength(200);
        builder.Property(c => c.Operation).HasMaxLength(50);
        builder.Property(c => c.UsageSource).HasMaxLength(20);
        builder.Property(c => c.Attempts).HasMaxLength(1000);
        builder.Property(c => c.Error).HasMaxLength(500);
        builder.Property(c => c.Feature).HasMaxLength(100);
        builder.Property(c => c.Task).HasMaxLength(200);
    }
}
