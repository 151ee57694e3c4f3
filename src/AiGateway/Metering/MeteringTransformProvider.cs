using AiGateway.Proxy;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace AiGateway.Metering;

/// <summary>Adds <see cref="ResponseMeter"/> as the last response transform of every provider route.</summary>
public sealed class MeteringTransformProvider(ResponseMeter meter) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (GatewayRoute.FormatOf(context.Route) is null) return;
        context.AddResponseTransform(meter.ApplyAsync);
    }
}
