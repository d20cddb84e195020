"""gRPC entrypoint of the sales report API."""

from __future__ import annotations

from shop.checkout.v1 import reports_pb2 as pb
from shop.checkout.v1 import reports_pb2_grpc

from services.checkout.reports.repository import Figures, SalesReports
from services.checkout.reports.rules import average, bucket_starts, validate_query
from services.common.messages import money

_GRANULARITY_IN = {
    pb.REPORT_GRANULARITY_UNSPECIFIED: "day",
    pb.REPORT_GRANULARITY_DAY: "day",
    pb.REPORT_GRANULARITY_WEEK: "week",
    pb.REPORT_GRANULARITY_MONTH: "month",
}
_GRANULARITY_OUT = {v: k for k, v in _GRANULARITY_IN.items() if k}


def _figures(f: Figures, currency: str) -> pb.SalesFigures:
    return pb.SalesFigures(
        orders=f.orders,
        gross_sales=money(f.gross, currency),
        refunds=money(f.refunds, currency),
        net_sales=money(f.gross - f.refunds, currency),
        units=f.units,
        average_order_value=money(average(f.gross, f.orders), currency),
    )


class ReportsAdminServicer(reports_pb2_grpc.ReportsAdminServicer):
    def __init__(self, reports: SalesReports) -> None:
        self._reports = reports

    async def GetSalesReport(self, request, context):
        query = validate_query(
            getattr(request, "from"),
            request.to,
            _GRANULARITY_IN.get(request.granularity, "?"),
            request.time_zone,
            request.top_products,
        )
        data = await self._reports.figures(query)
        buckets = [(start, data.buckets.get(start, Figures())) for start in bucket_starts(query)]
        totals = Figures(
            orders=sum(f.orders for _, f in buckets),
            gross=sum(f.gross for _, f in buckets),
            refunds=sum(f.refunds for _, f in buckets),
            units=sum(f.units for _, f in buckets),
        )
        report = pb.SalesReport(
            to=query.end.isoformat(),
            time_zone=query.time_zone,
            granularity=_GRANULARITY_OUT[query.granularity],
            buckets=[
                pb.SalesBucket(start=start.isoformat(), figures=_figures(f, data.currency))
                for start, f in buckets
            ],
            totals=_figures(totals, data.currency),
            top_products=[
                pb.TopProduct(
                    product_id=str(t.product_id),
                    title=t.title,
                    units=t.units,
                    gross_sales=money(t.gross, data.currency),
                )
                for t in data.top
            ],
        )
        setattr(report, "from", query.start.isoformat())
        return report
