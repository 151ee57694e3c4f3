using AiGateway.Accounts;
using AiGateway.Metering;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class VideoJobEntityTypeConfiguration : IEntityTypeConfiguration<VideoJob>
{
    public void Configure(EntityTypeBuilder<VideoJob> builder)
    {
        builder.ToTable("video_jobs");
        // Looked up by the polling account and the job id of the poll's path.
        builder.HasKey(j => new { j.AccountId, j.VideoId });
        builder.Property(j => j.AccountId).HasColumnName("account_id");
        builder.Property(j => j.VideoId).HasColumnName("video_id").HasMaxLength(200);
        builder.Property(j => j.RequestId).HasColumnName("request_id").HasMaxLength(200);
        builder.Property(j => j.CostMicro).HasColumnName("cost_micro");
        builder.Property(j => j.PricedModel).HasColumnName("priced_model").HasMaxLength(200);
        builder.Property(j => j.CreatedAt).HasColumnName("created_at");
        builder.Property(j => j.ResolvedAt).HasColumnName("resolved_at");
        builder.Property(j => j.Outcome).HasColumnName("outcome").HasMaxLength(16);
        builder.Property(j => j.Cluster).HasColumnName("cluster").HasMaxLength(200);
        builder.HasOne<Account>().WithMany().HasForeignKey(j => j.AccountId);
    }
}
