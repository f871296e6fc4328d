SELECT
  `t0`.`customer_id`,
  `t0`.`clv`,
  `t0`.`p_alive`,
  `t0`.`revenue`,
  IF(
    COALESCE(IF(ISNAN(`t0`.`revenue`), CAST(NULL AS DOUBLE), `t0`.`revenue`) >= 350.0, FALSE)
    AND COALESCE(IF(ISNAN(`t0`.`p_alive`), CAST(NULL AS DOUBLE), `t0`.`p_alive`) < 0.5, FALSE),
    'Churn risk',
    CASE
      WHEN COALESCE(IF(ISNAN(`t0`.`clv`), CAST(NULL AS DOUBLE), `t0`.`clv`) >= 812.5, FALSE)
      THEN 'Top 1%'
      WHEN COALESCE(IF(ISNAN(`t0`.`clv`), CAST(NULL AS DOUBLE), `t0`.`clv`) >= 203.25, FALSE)
      THEN 'Top 10%'
      WHEN COALESCE(IF(ISNAN(`t0`.`clv`), CAST(NULL AS DOUBLE), `t0`.`clv`) >= 41.0, FALSE)
      THEN 'Middle'
      ELSE 'Low'
    END
  ) AS `segment`
FROM `customer_values` AS `t0`
