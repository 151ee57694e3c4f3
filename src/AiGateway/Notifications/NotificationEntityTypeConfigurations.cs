using AiGateway.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AiGateway.Notifications;

internal sealed class NotificationAccountEntityTypeConfiguration : IEntityTypeConfiguration<NotificationAccount>
{
    public void Configure(EntityTypeBuilder<NotificationAccount> builder)
    {
        builder.ToTable("notification_accounts");
        builder.HasKey(n => n.AccountId);
        builder.Property(n => n.Events).HasMaxLength(500);
        builder.HasOne<Account>().WithMany().HasForeignKey(n => n.AccountId);
    }
}

internal sealed class NotificationEventEntityTypeConfiguration : IEntityTypeConfiguration<NotificationEvent>
{
    public void Configure(EntityTypeBuilder<NotificationEvent> builder)
    {
        builder.ToTable("notification_events");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasMaxLength(40);
        builder.Property(e => e.Type).HasMaxLength(50);
        builder.Property(e => e.Episode).HasMaxLength(300);
        // One event per account, type and episode: the outbox insert relies on it (ON CONFLICT DO NOTHING).
        builder.HasIndex(e => new { e.AccountId, e.Type, e.Episode }).IsUnique();
        builder.HasIndex(e => new { e.AccountId, e.CreatedAt });
        builder.HasOne<Account>().WithMany().HasForeignKey(e => e.AccountId);
    }
}

internal sealed class NotificationDeliveryEntityTypeConfiguration : IEntityTypeConfiguration<NotificationDelivery>
{
    public void Configure(EntityTypeBuilder<NotificationDelivery> builder)
    {
        builder.ToTable("notification_deliveries");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.EventId).HasMaxLength(40);
        builder.Property(d => d.Endpoint).HasMaxLength(100);
        builder.Property(d => d.Status).HasMaxLength(20);
        builder.Property(d => d.LeaseOwner).HasMaxLength(100);
        builder.Property(d => d.LastError).HasMaxLength(500);
        builder.HasIndex(d => new { d.EventId, d.Endpoint }).IsUnique();
        // The dispatcher's claim: due pending deliveries of one endpoint, oldest first.
        builder.HasIndex(d => new { d.Endpoint, d.Status, d.NextAttemptAt });
        builder.HasOne<NotificationEvent>().WithMany().HasForeignKey(d => d.EventId);
    }
}
