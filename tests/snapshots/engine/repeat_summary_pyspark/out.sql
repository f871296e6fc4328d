SELECT
  `t3`.`customer_id`,
  `t3`.`n` - 1 AS `frequency`,
  CAST(`t3`.`last` - `t3`.`first` AS DOUBLE) / 7.0 AS `recency`,
  CAST(DATEDIFF(DAY, MAKE_DATE(1970, 1, 1), MAKE_DATE(2024, 3, 1)) - `t3`.`first` AS DOUBLE) / 7.0 AS `T`,
  IF(
    (
      `t3`.`n` - 1
    ) > 0,
    CAST(`t3`.`revenue` - `t3`.`first_value` AS DOUBLE) / CAST(`t3`.`n` - 1 AS DOUBLE),
    0.0
  ) AS `monetary_value`,
  CAST(`t3`.`revenue` AS DOUBLE) AS `revenue`
FROM (
  SELECT
    `t2`.`customer_id`,
    COUNT(`t2`.`day`) AS `n`,
    MIN(`t2`.`day`) AS `first`,
    MAX(`t2`.`day`) AS `last`,
    SUM(`t2`.`value`) AS `revenue`,
    MIN_BY(`t2`.`value`, `t2`.`day`) AS `first_value`
  FROM (
    SELECT
      `t1`.`customer_id`,
      `t1`.`day`,
      SUM(CAST(`t1`.`paid` AS DECIMAL(38, 6))) AS `value`
    FROM (
      SELECT
        `t0`.`order_id`,
        `t0`.`customer_id`,
        `t0`.`ordered_at`,
        `t0`.`amount`,
        `t0`.`category`,
        `t0`.`status`,
        DATEDIFF(DAY, MAKE_DATE(1970, 1, 1), CAST(`t0`.`ordered_at` AS DATE)) AS `day`,
        IF(`t0`.`status` = 'paid', `t0`.`amount`, 0.0) AS `paid`
      FROM `orders` AS `t0`
      WHERE
        `t0`.`customer_id` IS NOT NULL
        AND `t0`.`ordered_at` <= CAST('2024-03-01T00:00:00' AS TIMESTAMP)
        AND COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
          `t0`.`amount` >= 0
        ), FALSE)
    ) AS `t1`
    GROUP BY
      1,
      2
  ) AS `t2`
  GROUP BY
    1
) AS `t3`
ORDER BY
  `t3`.`customer_id` ASC NULLS LAST
