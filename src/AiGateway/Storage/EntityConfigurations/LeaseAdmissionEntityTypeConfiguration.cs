using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Storage.EntityConfigurations;

internal sealed class LeaseAdmissionEntityTypeConfiguration : IEntityTypeConfiguration<LeaseAdmission>
{
    public void Configure(EntityTypeBuilder<LeaseAdmission> builder)
    {
        builder.ToTable("lease_admissions");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.InstanceId).HasMaxLength(100);
        // The owner renews (and at restart resolves) its markers in one statement; the sweep looks for expired ones.
        builder.HasIndex(a => a.InstanceId);
        builder.HasIndex(a => a.ExpiresAt);
    }
}
